package expvar

import (
	"errors"
	stdexpvar "expvar"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
)

// TestPublishRace races publish against other code calling
// expvar.Publish directly on the same names: publish must never panic,
// and each name must go to exactly one of them.
func TestPublishRace(t *testing.T) {
	// expvar logs a line per duplicate before panicking; keep it quiet.
	out, flags := log.Writer(), log.Flags()
	log.SetOutput(io.Discard)
	defer log.SetOutput(out)
	defer log.SetFlags(flags)

	prefix := fmt.Sprintf("race%08x.", rand.Uint32())
	const names = 2000
	ours := make([]error, names)
	theirs := make([]bool, names)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range names {
			ours[i] = publish(fmt.Sprint(prefix, i), new(stdexpvar.Int))
		}
	}()
	go func() {
		defer wg.Done()
		for i := range names {
			func() {
				defer func() { _ = recover() }()
				stdexpvar.Publish(fmt.Sprint(prefix, i), new(stdexpvar.Int))
				theirs[i] = true
			}()
		}
	}()
	wg.Wait()
	recovered := 0
	for i := range names {
		if ours[i] != nil && strings.Contains(ours[i].Error(), "concurrently") {
			recovered++
		}
		switch {
		case ours[i] != nil && !errors.Is(ours[i], ErrAlreadyPublished):
			t.Fatalf("name %d: error %v, want ErrAlreadyPublished", i, ours[i])
		case (ours[i] == nil) == theirs[i]:
			t.Fatalf("name %d: published by us %v, by them %v; want exactly one", i, ours[i] == nil, theirs[i])
		}
	}
	t.Logf("%d of %d duplicates caught only by recovering expvar's panic", recovered, names)
}
