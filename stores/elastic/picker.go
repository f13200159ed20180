package elastic

import (
	"sync"
	"time"
)

// refusalPause is how long a lane whose shard refused a write is passed over.
const refusalPause = time.Second

// picker spreads writes over lanes (here: one per primary shard): a write goes to the lane with the
// fewest writes awaiting an outcome, so a lane that stalls stops taking new writes while the others
// go on, and a lane that refused a write is passed over for pause unless every lane is. Ties go
// round robin. It knows nothing of Elasticsearch.
type picker struct {
	mu       sync.Mutex
	pause    time.Duration
	awaiting []int
	paused   []time.Time // passed over until then
	next     int         // where the search starts
}

func newPicker(lanes int, pause time.Duration) *picker {
	return &picker{pause: pause, awaiting: make([]int, lanes), paused: make([]time.Time, lanes)}
}

// pick chooses the lane for a new write and counts it awaiting.
func (p *picker) pick(now time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.awaiting)
	best := p.next % n
	for k := 1; k < n; k++ {
		if i := (p.next + k) % n; p.better(i, best, now) {
			best = i
		}
	}
	p.next = (best + 1) % n
	p.awaiting[best]++
	return best
}

// add counts a write given to lane without a choice (a retry that must go where it went before).
func (p *picker) add(lane int) {
	p.mu.Lock()
	p.awaiting[lane]++
	p.mu.Unlock()
}

// better reports whether lane a is a better pick than lane b: one taking writes before a paused
// one, then the one with fewer writes awaiting.
func (p *picker) better(a, b int, now time.Time) bool {
	if pa, pb := now.Before(p.paused[a]), now.Before(p.paused[b]); pa != pb {
		return pb
	}
	return p.awaiting[a] < p.awaiting[b]
}

// done records the outcome of a write picked for lane; refused passes the lane over until
// now+pause.
func (p *picker) done(lane int, refused bool, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.awaiting[lane] > 0 {
		p.awaiting[lane]--
	}
	if refused {
		p.paused[lane] = now.Add(p.pause)
	}
}
