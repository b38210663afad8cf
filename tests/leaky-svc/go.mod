module leakysvc

go 1.27
