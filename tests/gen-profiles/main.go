// Command genprofiles writes large, realistic Go heap profiles for
// heapframe's benchmarks, from real allocations of a real program.
//
// -stacks N (a power of two, 2^k) makes the program allocate from 2^k
// distinct call paths: a binary tree of calls k levels deep in which every
// level calls one of two functions (goLeft/goRight), so each leaf is reached
// by its own sequence of return addresses. Every leaf allocation is kept
// alive, and MemProfileRate is 1, so the heap profile has one sample per
// call path.
//
// -series M writes M heap snapshots of a slowly leaking service instead: the
// same tree, with the leaves of a few paths growing from snapshot to
// snapshot while the others stay constant.
//
// -labels FILE writes a goroutine profile whose goroutines carry pprof
// labels (tenant, route), for the tag filter goldens: 60 goroutines under
// pprof.Do, blocked in one of two functions.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
)

var kept [][]byte

// sizeFor gives each path its own, stable object size.
func sizeFor(path uint32) int { return 16 + int(path%61)*8 }

//go:noinline
func leaf(path uint32, extra int) {
	for i := 0; i < 1+extra; i++ {
		kept = append(kept, make([]byte, sizeFor(path)))
	}
}

//go:noinline
func goLeft(level, depth int, path uint32, grow func(uint32) int) {
	descend(level+1, depth, path<<1, grow)
}

//go:noinline
func goRight(level, depth int, path uint32, grow func(uint32) int) {
	descend(level+1, depth, path<<1|1, grow)
}

//go:noinline
func descend(level, depth int, path uint32, grow func(uint32) int) {
	if level == depth {
		leaf(path, grow(path))
		return
	}
	goLeft(level, depth, path, grow)
	goRight(level, depth, path, grow)
}

func writeHeap(name string) {
	runtime.GC()
	f, err := os.Create(name + ".tmp")
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		log.Fatal(err)
	}
}

//go:noinline
func waitForWork(ready *sync.WaitGroup, block chan struct{}) {
	ready.Done()
	<-block
}

//go:noinline
func waitForReply(ready *sync.WaitGroup, block chan struct{}) {
	ready.Done()
	<-block
}

func writeLabelled(name string) {
	block := make(chan struct{})
	var ready sync.WaitGroup
	tenants := []string{"acme", "globex", "initech"}
	routes := []string{"/user", "/quote", "/ingest"}
	for i := 0; i < 60; i++ {
		labels := pprof.Labels("tenant", tenants[i%3], "route", routes[(i/3)%3])
		ready.Add(1)
		go pprof.Do(context.Background(), labels, func(context.Context) {
			if i%4 == 0 {
				waitForReply(&ready, block)
			} else {
				waitForWork(&ready, block)
			}
		})
	}
	ready.Wait()
	f, err := os.Create(name + ".tmp")
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.Lookup("goroutine").WriteTo(f, 0); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(name+".tmp", name); err != nil {
		log.Fatal(err)
	}
	close(block)
}

func main() {
	stacks := flag.Int("stacks", 1<<17, "distinct call paths (a power of two)")
	series := flag.Int("series", 0, "write this many snapshots of a slowly leaking service")
	out := flag.String("o", "heap.pb.gz", "output file (with -series: a folder)")
	labelled := flag.String("labels", "", "write a goroutine profile of labelled goroutines to this file instead")
	flag.Parse()
	if *labelled != "" {
		writeLabelled(*labelled)
		fmt.Printf("wrote %s: 60 labelled goroutines\n", *labelled)
		return
	}
	depth := 0
	for 1<<depth < *stacks {
		depth++
	}
	if 1<<depth != *stacks {
		log.Fatalf("-stacks must be a power of two, got %d", *stacks)
	}
	runtime.MemProfileRate = 1
	if *series == 0 {
		descend(0, depth, 0, func(uint32) int { return 0 })
		writeHeap(*out)
		fmt.Printf("wrote %s: %d call paths, %d objects kept\n", *out, *stacks, len(kept))
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	// Snapshot 0 allocates every path once; later snapshots add objects on
	// the leaking paths only (one path in 512 leaks, one object per snapshot).
	for s := 0; s < *series; s++ {
		if s == 0 {
			descend(0, depth, 0, func(uint32) int { return 0 })
		} else {
			descend(0, depth, 0, func(p uint32) int {
				if p%512 == 7 {
					return 1
				}
				return -1
			})
		}
		writeHeap(filepath.Join(*out, fmt.Sprintf("%03d.pb.gz", s+1)))
	}
	fmt.Printf("wrote %d snapshots of %d call paths to %s\n", *series, *stacks, *out)
}
