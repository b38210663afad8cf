module genprofiles

go 1.27
