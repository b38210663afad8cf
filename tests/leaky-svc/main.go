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
//	mapcache     a global map cache that only grows       culprit main.(*profileCache).Put, main.BuildResponse
//	goroutines   a goroutine per request, blocked forever  culprit main.startWatcher (heap), main.startWatcher.func1 (goroutines)
//	queue        a queue filled faster than it is drained  culprit main.(*eventQueue).Push, main.newEvent
//	lru          bounded LRU cache with TTL: warms up, then plateaus (not a leak)
//	churn        allocation churn, nothing retained (not a leak)
//	fixed        the mapcache workload with the bounded LRU instead (the fix)
//	warmleak     a bounded profile cache warming up (fills in ~20 s, then plateaus) beside
//	             a session store that never forgets a login's 1 KiB session (steady
//	             leak, every 4th request); GOGC=25
//	                                                       culprit main.(*sessionStore).Add
//	loadfollow   load ramps from rps/5 to 2*rps over -ramp; a sliding window of the
//	             last 3 s of requests holds memory in proportion (not a leak)
//	                                                       grows: main.(*requestWindow).Record
//	offheap      every request appends 2 KiB to an mmap'd arena outside the Go heap:
//	             RSS climbs, the Go heap and go_memstats_sys_bytes stay flat
//	                                                       culprit main.(*mmapArena).grow (invisible to heap profiles)
//	slowleak     a 26 MB catalog loaded at start (flat), an audit log that keeps every
//	             entry: a few % over a minute; rps/4 and GOGC=5 so floors are clean
//	                                                       culprit main.(*auditLog).Record
//	tinyobjects  a 32 MiB blob loaded at start (flat), an interner that keeps a 16-byte
//	             object per label: objects multiply, bytes barely move (GOGC=10)
//	                                                       culprit main.(*labelInterner).Intern
//	goroutinepin a call with a timeout whose worker sends on an unbuffered channel:
//	             every 10th call (rps/4 calls a second) times out and its goroutine
//	             blocks forever, pinning its 32 KiB answer culprit main.fetchUpstream (heap and goroutines)
//
// The restart scenario of tests/fixtures/capture.sh is mapcache killed and
// started again on the same address mid-capture.
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
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
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

// --- warmleak: a session leak under a cache that is still warming up ---

// cachedProfile is a decoded profile and its JSON, as the warm cache keeps them.
type cachedProfile struct {
	profile *UserProfile
	json    []byte
}

// profileLRU is a bounded cache of decoded profiles (first in, first out):
// it warms up while users are first seen, then stays at capacity.
type profileLRU struct {
	mu       sync.Mutex
	capacity int
	order    []int
	m        map[int]*cachedProfile
}

func (c *profileLRU) Get(id int) (*cachedProfile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[id]
	return p, ok
}

func (c *profileLRU) Put(id int, p *cachedProfile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok {
		c.order = append(c.order, id)
	}
	c.m[id] = p
	for len(c.m) > c.capacity {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
}

func (c *profileLRU) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// session is what a login leaves behind: 1 KiB.
type session struct {
	user    int
	created int64
	attrs   [1008]byte
}

// sessionStore is the leak of warmleak: a session is added on every login
// and never expires.
type sessionStore struct {
	mu   sync.Mutex
	next int64
	m    map[int64]*session
}

func (s *sessionStore) Add(user int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	ss := &session{user: user, created: time.Now().UnixNano()}
	for i := 0; i < len(ss.attrs); i += 64 {
		ss.attrs[i] = byte(s.next >> (i / 64 % 8 * 8))
	}
	s.m[s.next] = ss
	return s.next
}

func (s *sessionStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

var (
	warmCache = &profileLRU{capacity: 4000, m: make(map[int]*cachedProfile)}
	sessions  = &sessionStore{m: make(map[int64]*session)}
)

// OpenSession serves /session?id=N: the user's profile from the warm cache
// (users cycle through 4000 ids, so the cache fills, then only hits); every
// 4th request is a login and opens a session.
func OpenSession(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.URL.Query().Get("id"))
	id := n % warmCache.capacity
	cp, ok := warmCache.Get(id)
	if !ok {
		p := loadProfile(id)
		cp = &cachedProfile{profile: p, json: BuildResponse(p)}
		warmCache.Put(id, cp)
	}
	var sid int64
	if n%4 == 0 {
		sid = sessions.Add(id)
	}
	fmt.Fprintf(w, "session %d, %d bytes\n", sid, len(cp.json))
}

// --- loadfollow: memory that follows load ---

// requestWindow keeps every request of the last few seconds (for a rate
// limiter): its size follows the request rate, and nothing older survives.
type requestWindow struct {
	mu      sync.Mutex
	span    time.Duration
	records []*requestRecord
}

type requestRecord struct {
	at   time.Time
	user int
	body []byte
}

func (rw *requestWindow) Record(user int) int {
	now := time.Now()
	rec := &requestRecord{at: now, user: user, body: make([]byte, 8<<10)}
	rec.body[0] = byte(user)
	rw.mu.Lock()
	defer rw.mu.Unlock()
	rw.records = append(rw.records, rec)
	drop := 0
	for drop < len(rw.records) && now.Sub(rw.records[drop].at) > rw.span {
		drop++
	}
	if drop > 0 {
		n := copy(rw.records, rw.records[drop:])
		clear(rw.records[n:])
		rw.records = rw.records[:n]
	}
	return len(rw.records)
}

var window = &requestWindow{span: 3 * time.Second}

// Limit serves /limit?id=N: records the request in the sliding window.
func Limit(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	fmt.Fprintf(w, "%d in window\n", window.Record(id))
}

// --- offheap: growth outside the Go heap ---

// mmapArena appends records to anonymous memory mappings that are never
// unmapped: the memory is outside the Go heap, invisible to heap profiles
// and to runtime.MemStats, but counts in the resident set.
type mmapArena struct {
	mu     sync.Mutex
	chunks [][]byte
	cur    []byte
	off    int
	total  atomic.Int64
}

const arenaChunk = 1 << 20

func (a *mmapArena) Append(rec []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cur == nil || a.off+len(rec) > len(a.cur) {
		a.grow()
	}
	copy(a.cur[a.off:], rec) // touches the pages: RSS grows
	a.off += len(rec)
	a.total.Add(int64(len(rec)))
}

// grow maps another chunk.
func (a *mmapArena) grow() {
	b, err := syscall.Mmap(-1, 0, arenaChunk, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		log.Fatalf("mmap: %v", err)
	}
	a.chunks = append(a.chunks, b)
	a.cur, a.off = b, 0
}

var arena mmapArena

// Ingest serves /ingest?id=N: a 2 KiB record appended to the arena.
func Ingest(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	var rec [2048]byte
	for i := range rec {
		rec[i] = byte(id + i)
	}
	arena.Append(rec[:])
	io.WriteString(w, "stored\n")
}

// --- slowleak: a few percent over the window, under a large flat dataset ---

// product is one catalog entry.
type product struct {
	id    int
	name  string
	tags  []string
	attrs map[string]string
	desc  []byte
}

// loadCatalog builds the dataset loaded at start: n products of about 3 KiB
// and ten objects each. It never changes afterwards.
func loadCatalog(n int) []*product {
	c := make([]*product, n)
	for i := range c {
		p := &product{id: i, name: "product-" + strconv.Itoa(i), desc: make([]byte, 3000)}
		for j := 0; j < 4; j++ {
			p.tags = append(p.tags, "tag-"+strconv.Itoa(i*4+j))
		}
		p.attrs = map[string]string{"color": strconv.Itoa(i % 17), "size": strconv.Itoa(i % 5), "sku": strconv.Itoa(i * 31)}
		p.desc[0] = byte(i)
		c[i] = p
	}
	return c
}

// auditEntry is one audited request: 512 bytes.
type auditEntry struct {
	at     int64
	user   int
	detail [496]byte
}

// auditLog is the leak of slowleak: it keeps every entry.
type auditLog struct {
	mu      sync.Mutex
	entries []*auditEntry
}

func (l *auditLog) Record(user int) {
	e := &auditEntry{at: time.Now().UnixNano(), user: user}
	e.detail[0] = byte(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
}

func (l *auditLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

var (
	catalog []*product
	audit   auditLog
)

// Lookup serves /lookup?id=N: a catalog read, audited.
func Lookup(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	p := catalog[id%len(catalog)]
	audit.Record(id)
	io.WriteString(w, p.name+"\n")
}

// --- tinyobjects: many objects, few bytes ---

// labelRef is one interned label: 16 bytes.
type labelRef struct {
	hash uint64
	next *labelRef
}

// labelInterner is the leak of tinyobjects: it interns every label value it
// is shown and never forgets one. Each costs one 16-byte object.
type labelInterner struct {
	mu   sync.Mutex
	head *labelRef
	n    atomic.Int64
}

func (li *labelInterner) Intern(h uint64) {
	li.mu.Lock()
	defer li.mu.Unlock()
	li.head = &labelRef{hash: h, next: li.head}
	li.n.Add(1)
}

var (
	blob     [][]byte
	interner labelInterner
)

// loadBlob loads the large flat dataset of tinyobjects: 32 MiB in eight
// objects.
func loadBlob() [][]byte {
	b := make([][]byte, 8)
	for i := range b {
		b[i] = make([]byte, 4<<20)
		for j := 0; j < len(b[i]); j += 4096 {
			b[i][j] = byte(j)
		}
	}
	return b
}

// Label serves /label?id=N: interns five labels of the request.
func Label(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	for i := 0; i < 5; i++ {
		interner.Intern(uint64(id)*5 + uint64(i))
	}
	fmt.Fprintf(w, "%d\n", len(blob))
}

// --- goroutinepin: a goroutine leak that pins memory ---

// fetchUpstream asks the (simulated) upstream for a quote and sends the
// answer, 32 lines of 1 KiB, on ch. ch is unbuffered: when the caller has
// timed out, the send blocks forever, and the goroutine pins the answer
// (the leak). Every 10th call is slow.
func fetchUpstream(id int, ch chan<- [][]byte) {
	lines := make([][]byte, 32)
	for i := range lines {
		lines[i] = make([]byte, 1<<10)
		lines[i][0] = byte(id + i)
	}
	if id%10 == 0 {
		time.Sleep(time.Second)
	}
	ch <- lines
}

// GetQuote serves /quote?id=N: asks the upstream and gives up after 200 ms.
func GetQuote(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.Atoi(r.URL.Query().Get("id"))
	ch := make(chan [][]byte)
	go fetchUpstream(id, ch)
	t := time.NewTimer(200 * time.Millisecond)
	defer t.Stop()
	select {
	case lines := <-ch:
		fmt.Fprintf(w, "quote of %d lines\n", len(lines))
	case <-t.C:
		http.Error(w, "upstream timed out", http.StatusGatewayTimeout)
	}
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

var processStarted = time.Now()

// startTimeSeconds is the process start time as client_golang's process
// collector reports it: /proc/self/stat's start time (clock ticks since
// boot, 100 per second) plus the boot time from /proc/stat; the time main
// started where /proc cannot be read.
func startTimeSeconds() float64 {
	fallback := float64(processStarted.UnixMilli()) / 1e3
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return fallback
	}
	// The command name (field 2) may contain spaces: count from its ')'.
	i := strings.LastIndexByte(string(stat), ')')
	f := strings.Fields(string(stat[i+1:]))
	if i < 0 || len(f) < 20 {
		return fallback
	}
	ticks, err := strconv.ParseFloat(f[19], 64) // field 22, starttime
	if err != nil {
		return fallback
	}
	procStat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for _, line := range strings.Split(string(procStat), "\n") {
		if rest, ok := strings.CutPrefix(line, "btime "); ok {
			boot, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				return fallback
			}
			return boot + ticks/100
		}
	}
	return fallback
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
	// Added for issue 18 (memory outside the Go heap, restarts); the lines
	// above are unchanged so that older captures and newer ones read alike.
	metric("go_memstats_heap_idle_bytes", "gauge", "Number of heap bytes waiting to be used. Equals to /memory/classes/heap/released:bytes + /memory/classes/heap/free:bytes.", ms.HeapIdle)
	metric("go_memstats_heap_released_bytes", "gauge", "Number of heap bytes released to OS. Equals to /memory/classes/heap/released:bytes.", ms.HeapReleased)
	metric("go_memstats_stack_inuse_bytes", "gauge", "Number of bytes obtained from system for stack allocator in non-CGO environments. Equals to /memory/classes/heap/stacks:bytes.", ms.StackInuse)
	metric("go_memstats_stack_sys_bytes", "gauge", "Number of bytes obtained from system for stack allocator. Equals to /memory/classes/heap/stacks:bytes + /memory/classes/os-stacks:bytes.", ms.StackSys)
	threads, _ := runtime.ThreadCreateProfile(nil)
	metric("go_threads", "gauge", "Number of OS threads created.", threads)
	metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", startTimeSeconds())
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

// pace sends requests to path on the service itself at rate(t) requests per
// second (t: time since load started), request ids 0, 1, 2, ..., from a
// few workers, for the given duration. A request that falls behind (a
// loaded machine) is sent late rather than dropped, so the number of
// requests follows the schedule.
func pace(addr, path string, rate func(time.Duration) float64, d time.Duration) {
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16},
	}
	ids := make(chan int, 1<<14)
	for range 8 {
		go func() {
			for id := range ids {
				resp, err := client.Get(fmt.Sprintf("http://%s%s?id=%d", addr, path, id))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	start := time.Now()
	last, due, sent := start, 0.0, 0
	for now := range t.C {
		if now.Sub(start) > d {
			close(ids)
			log.Printf("load done after %d requests", sent)
			return
		}
		due += rate(now.Sub(start)) * now.Sub(last).Seconds()
		last = now
		for ; sent < int(due); sent++ {
			ids <- sent
		}
	}
}

func main() {
	addrFlag := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	scenario := flag.String("scenario", "mapcache", "mapcache, goroutines, queue, lru, churn, fixed, warmleak, loadfollow, offheap, slowleak, tinyobjects or goroutinepin")
	rps := flag.Int("rps", 200, "requests per second of the internal load")
	duration := flag.Duration("duration", 10*time.Minute, "how long to generate load (the service keeps serving after)")
	rate := flag.Int("memprofilerate", 512*1024, "runtime.MemProfileRate")
	contention := flag.Bool("contention", false, "record mutex and block profiles")
	ramp := flag.Duration("ramp", 70*time.Second, "loadfollow: how long the load takes to rise from rps/5 to 2*rps")
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

	// gcPercent sets GOGC for a scenario unless the environment sets it.
	gcPercent := func(p int) {
		if os.Getenv("GOGC") == "" {
			debug.SetGCPercent(p)
		}
	}
	path := "/user"
	// The new scenarios (issue 18) use pace, which keeps to its schedule
	// on a loaded machine; the first six keep drive.
	var load func(time.Duration) float64
	steady := func(r float64) func(time.Duration) float64 {
		return func(time.Duration) float64 { return r }
	}
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
	case "warmleak":
		// GOGC=25: the floors after GC are the live heap, so they show the
		// warm-up flattening out rather than the garbage in between.
		gcPercent(25)
		path, load = "/session", steady(float64(*rps))
	case "loadfollow":
		lo, hi := float64(*rps)/5, float64(*rps)*2
		path, load = "/limit", func(t time.Duration) float64 {
			return lo + (hi-lo)*min(1, t.Seconds()/ramp.Seconds())
		}
	case "offheap":
		path, load = "/ingest", steady(float64(*rps))
	case "slowleak":
		// A quiet service with a large heap: little garbage per second and
		// GOGC=5, so that the floors after GC are the live heap.
		gcPercent(5)
		catalog = loadCatalog(8000)
		path, load = "/lookup", steady(float64(*rps)/4)
	case "tinyobjects":
		gcPercent(10)
		blob = loadBlob()
		path, load = "/label", steady(float64(*rps))
	case "goroutinepin":
		path, load = "/quote", steady(float64(*rps)/4)
	default:
		log.Fatalf("unknown scenario %q", *scenario)
	}
	if cache == nil {
		cache = newLRU(1, time.Second)
	}
	expvar.Publish("scenario", expvar.Func(func() any { return *scenario }))
	expvar.Publish("cache_entries", expvar.Func(func() any { return cache.Len() }))
	expvar.Publish("queue_length", expvar.Func(func() any { return queue.Len() }))
	expvar.Publish("warm_cache_entries", expvar.Func(func() any { return warmCache.Len() }))
	expvar.Publish("sessions", expvar.Func(func() any { return sessions.Len() }))
	expvar.Publish("arena_bytes", expvar.Func(func() any { return arena.total.Load() }))
	expvar.Publish("audit_entries", expvar.Func(func() any { return audit.Len() }))
	expvar.Publish("interned_labels", expvar.Func(func() any { return interner.n.Load() }))

	http.HandleFunc("/user", counted("/user", GetUserProfile))
	http.HandleFunc("/watch", counted("/watch", Watch))
	http.HandleFunc("/publish", counted("/publish", Publish))
	http.HandleFunc("/churn", counted("/churn", Churn))
	http.HandleFunc("/session", counted("/session", OpenSession))
	http.HandleFunc("/limit", counted("/limit", Limit))
	http.HandleFunc("/ingest", counted("/ingest", Ingest))
	http.HandleFunc("/lookup", counted("/lookup", Lookup))
	http.HandleFunc("/label", counted("/label", Label))
	http.HandleFunc("/quote", counted("/quote", GetQuote))
	http.HandleFunc("/metrics", Metrics)

	if load != nil {
		go pace(ln.Addr().String(), path, load, *duration)
	} else {
		go drive(ln.Addr().String(), path, *rps, *duration)
	}
	log.Fatal(http.Serve(ln, nil))
}
