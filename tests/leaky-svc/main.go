// Command leakysvc is heapframe's fixture: a small HTTP service that leaks
// memory in known ways, one scenario at a time, so that captured profiles
// have a known culprit.
//
// It drives its own load (requests to itself over loopback) and serves
// /debug/pprof/ (net/http/pprof), /debug/vars (expvar) and /metrics
// (Prometheus text format, written by hand: standard library only).
//
// Scenarios (-scenario):
//
//	mapcache    a global map cache that only grows       culprit main.(*profileCache).Put, main.BuildResponse
//	goroutines  a goroutine per request, blocked forever  culprit main.startWatcher (heap), main.startWatcher.func1 (goroutines)
//	queue       a queue filled faster than it is drained  culprit main.(*eventQueue).Push, main.newEvent
//	lru         bounded LRU cache with TTL: warms up, then plateaus (not a leak)
//	churn       allocation churn, nothing retained (not a leak)
//	fixed       the mapcache workload with the bounded LRU instead (the fix)
package main

import (
	"container/list"
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// UserProfile is what the service computes per request.
type UserProfile struct {
	ID       int               `json:"id"`
	Name     string            `json:"name"`
	Tags     []string          `json:"tags"`
	Settings map[string]string `json:"settings"`
	Bio      string            `json:"bio"`
}

// loadProfile builds a user profile (the expensive part the cache saves).
func loadProfile(id int) *UserProfile {
	p := &UserProfile{
		ID:       id,
		Name:     "user-" + strconv.Itoa(id),
		Settings: map[string]string{"theme": "dark", "lang": "en"},
		Bio:      strings.Repeat("lorem ipsum ", 64),
	}
	for i := 0; i < 8; i++ {
		p.Tags = append(p.Tags, fmt.Sprintf("tag-%d-%d", id, i))
	}
	return p
}

// BuildResponse encodes a profile as the JSON the handler returns.
func BuildResponse(p *UserProfile) []byte {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return b
}

// responseCache is what the handlers store responses in.
type responseCache interface {
	Get(key string) ([]byte, bool)
	Put(key string, value []byte)
	Len() int
}

// profileCache is the leak: a global map with no size limit and no TTL,
// keyed by something unique per request.
type profileCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *profileCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *profileCache) Put(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = value
}

func (c *profileCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// lruCache is the fix: at most capacity entries, each for at most ttl.
type lruCache struct {
	mu       sync.Mutex
	capacity int
	ttl      time.Duration
	order    *list.List // front = most recently used
	items    map[string]*list.Element
}

type lruEntry struct {
	key     string
	value   []byte
	expires time.Time
}

func newLRU(capacity int, ttl time.Duration) *lruCache {
	return &lruCache{capacity: capacity, ttl: ttl, order: list.New(), items: make(map[string]*list.Element)}
}

func (c *lruCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	ent := e.Value.(*lruEntry)
	if time.Now().After(ent.expires) {
		c.order.Remove(e)
		delete(c.items, key)
		return nil, false
	}
	c.order.MoveToFront(e)
	return ent.value, true
}

func (c *lruCache) Put(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		ent := e.Value.(*lruEntry)
		ent.value, ent.expires = value, time.Now().Add(c.ttl)
		c.order.MoveToFront(e)
		return
	}
	c.items[key] = c.order.PushFront(&lruEntry{key: key, value: value, expires: time.Now().Add(c.ttl)})
	for c.order.Len() > c.capacity {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}

func (c *lruCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

var (
	cache      responseCache
	requestSeq atomic.Int64
	// The cache key: unique per request in the leaky scenario (the bug),
	// a bounded user id in the others.
	uniqueKeys bool
)

// GetUserProfile serves /user?id=N.
func GetUserProfile(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	key := "user:" + strconv.Itoa(id)
	if uniqueKeys {
		key += ":req:" + strconv.FormatInt(requestSeq.Add(1), 10)
	}
	if b, ok := cache.Get(key); ok {
		w.Write(b)
		return
	}
	b := BuildResponse(loadProfile(id))
	cache.Put(key, b)
	w.Write(b)
}

// startWatcher is the goroutine leak: every call starts a goroutine that
// waits for a notification nobody sends, holding its buffer forever.
func startWatcher(id int) {
	buf := make([]byte, 16<<10)
	buf[0] = byte(id)
	done := make(chan struct{})
	go func() {
		<-done // never closed
		_ = buf[0]
	}()
}

// Watch serves /watch?id=N.
func Watch(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	startWatcher(id)
	io.WriteString(w, "watching\n")
}

// event is a queued payload.
type event struct {
	id      int64
	payload []byte
}

func newEvent(id int64) *event {
	return &event{id: id, payload: make([]byte, 4<<10)}
}

// eventQueue is a slice-backed FIFO; the consumer is slower than the producer.
type eventQueue struct {
	mu     sync.Mutex
	events []*event
	head   int
}

func (q *eventQueue) Push(e *event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, e)
}

func (q *eventQueue) Pop() *event {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.events) {
		return nil
	}
	e := q.events[q.head]
	q.events[q.head] = nil
	q.head++
	return e
}

func (q *eventQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events) - q.head
}

var queue eventQueue

// Publish serves /publish: enqueues an event.
func Publish(w http.ResponseWriter, r *http.Request) {
	queue.Push(newEvent(requestSeq.Add(1)))
	io.WriteString(w, "queued\n")
}

// consume drains the queue at a tenth of the producer's rate.
func consume(rps int) {
	t := time.NewTicker(time.Second * 10 / time.Duration(rps))
	for range t.C {
		if e := queue.Pop(); e != nil {
			_ = e.payload[0]
		}
	}
}

// churnOnce allocates and drops: formatting, buffers, a temporary map.
func churnOnce(id int) int {
	var sb strings.Builder
	for i := 0; i < 32; i++ {
		fmt.Fprintf(&sb, "%d:%s;", i, strings.Repeat("x", 16))
	}
	tmp := make(map[int][]byte, 16)
	for i := 0; i < 16; i++ {
		tmp[i] = make([]byte, 512)
	}
	return len(sb.String()) + len(tmp) + id
}

// Churn serves /churn.
func Churn(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	fmt.Fprintf(w, "%d\n", churnOnce(id))
}

var httpRequests sync.Map // handler -> *atomic.Int64

func counted(name string, h http.HandlerFunc) http.HandlerFunc {
	c, _ := httpRequests.LoadOrStore(name, new(atomic.Int64))
	return func(w http.ResponseWriter, r *http.Request) {
		c.(*atomic.Int64).Add(1)
		h(w, r)
	}
}

// residentBytes reads the resident set size from /proc/self/statm.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// Metrics writes Prometheus text format, with the names client_golang uses.
func Metrics(w http.ResponseWriter, r *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	metric := func(name, typ, help string, value any) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, help, name, typ, name, value)
	}
	metric("go_goroutines", "gauge", "Number of goroutines that currently exist.", runtime.NumGoroutine())
	fmt.Fprintf(w, "# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.\n# TYPE go_gc_duration_seconds summary\n")
	fmt.Fprintf(w, "go_gc_duration_seconds_sum %g\ngo_gc_duration_seconds_count %d\n", float64(ms.PauseTotalNs)/1e9, ms.NumGC)
	metric("go_memstats_alloc_bytes", "gauge", "Number of bytes allocated in heap and currently in use. Equals to /memory/classes/heap/objects:bytes.", ms.Alloc)
	metric("go_memstats_heap_alloc_bytes", "gauge", "Number of heap bytes allocated and currently in use, same as go_memstats_alloc_bytes. Equals to /memory/classes/heap/objects:bytes.", ms.HeapAlloc)
	metric("go_memstats_heap_inuse_bytes", "gauge", "Number of heap bytes that are in use. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes", ms.HeapInuse)
	metric("go_memstats_heap_objects", "gauge", "Number of currently allocated objects. Equals to /gc/heap/objects:objects.", ms.HeapObjects)
	metric("go_memstats_heap_sys_bytes", "gauge", "Number of heap bytes obtained from system. Equals to /memory/classes/heap/objects:bytes + /memory/classes/heap/unused:bytes + /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", ms.HeapSys)
	metric("go_memstats_sys_bytes", "gauge", "Number of bytes obtained from system. Equals to /memory/classes/total:byte.", ms.Sys)
	metric("go_memstats_last_gc_time_seconds", "gauge", "Number of seconds since 1970 of last garbage collection.", float64(ms.LastGC)/1e9)
	metric("go_memstats_next_gc_bytes", "gauge", "Number of heap bytes when next garbage collection will take place. Equals to /gc/heap/goal:bytes.", ms.NextGC)
	metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes())
	fmt.Fprintf(w, "# HELP http_requests_total Requests served, by handler.\n# TYPE http_requests_total counter\n")
	httpRequests.Range(func(k, v any) bool {
		fmt.Fprintf(w, "http_requests_total{handler=%q} %d\n", k, v.(*atomic.Int64).Load())
		return true
	})
}

// drive sends rps requests per second to path on the service itself, for
// the given duration, then stops.
func drive(addr, path string, rps int, d time.Duration) {
	client := &http.Client{Timeout: 5 * time.Second}
	t := time.NewTicker(time.Second / time.Duration(rps))
	defer t.Stop()
	stop := time.After(d)
	for i := 0; ; i++ {
		select {
		case <-stop:
			log.Printf("load done after %d requests", i)
			return
		case <-t.C:
			resp, err := client.Get(fmt.Sprintf("http://%s%s?id=%d", addr, path, i%5000))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}
}

func main() {
	addrFlag := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	scenario := flag.String("scenario", "mapcache", "mapcache, goroutines, queue, lru, churn or fixed")
	rps := flag.Int("rps", 200, "requests per second of the internal load")
	duration := flag.Duration("duration", 10*time.Minute, "how long to generate load (the service keeps serving after)")
	rate := flag.Int("memprofilerate", 512*1024, "runtime.MemProfileRate")
	contention := flag.Bool("contention", false, "record mutex and block profiles")
	flag.Parse()

	runtime.MemProfileRate = *rate
	if *contention {
		runtime.SetMutexProfileFraction(5)
		runtime.SetBlockProfileRate(100_000)
	}

	ln, err := net.Listen("tcp", *addrFlag)
	if err != nil {
		log.Fatal(err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		log.Fatalf("refusing to listen on %s: the pprof endpoint must stay internal (loopback only)", ip)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	path := "/user"
	switch *scenario {
	case "mapcache":
		cache, uniqueKeys = &profileCache{m: make(map[string][]byte)}, true
	case "fixed":
		cache, uniqueKeys = newLRU(2000, 30*time.Second), true
	case "lru":
		cache = newLRU(2000, 10*time.Minute)
	case "goroutines":
		path = "/watch"
	case "queue":
		path = "/publish"
		go consume(*rps)
	case "churn":
		path = "/churn"
	default:
		log.Fatalf("unknown scenario %q", *scenario)
	}
	if cache == nil {
		cache = newLRU(1, time.Second)
	}
	expvar.Publish("scenario", expvar.Func(func() any { return *scenario }))
	expvar.Publish("cache_entries", expvar.Func(func() any { return cache.Len() }))
	expvar.Publish("queue_length", expvar.Func(func() any { return queue.Len() }))

	http.HandleFunc("/user", counted("/user", GetUserProfile))
	http.HandleFunc("/watch", counted("/watch", Watch))
	http.HandleFunc("/publish", counted("/publish", Publish))
	http.HandleFunc("/churn", counted("/churn", Churn))
	http.HandleFunc("/metrics", Metrics)

	go drive(ln.Addr().String(), path, *rps, *duration)
	log.Fatal(http.Serve(ln, nil))
}
