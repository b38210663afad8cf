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
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
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

func main() {
	stacks := flag.Int("stacks", 1<<17, "distinct call paths (a power of two)")
	series := flag.Int("series", 0, "write this many snapshots of a slowly leaking service")
	out := flag.String("o", "heap.pb.gz", "output file (with -series: a folder)")
	flag.Parse()
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
