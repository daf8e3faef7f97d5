package main

import (
	"errors"
	"hash/maphash"
	"io"
	"runtime"
	"sync"

	"github.com/trailcover/trailcover/analyzer"
	"github.com/trailcover/trailcover/ingest"
	"github.com/trailcover/trailcover/report"
)

// maxEventWriters bounds the goroutines that write the events table.
const maxEventWriters = 4

// eventsSink writes the events table with several report.EventsWriters,
// one per CPU up to maxEventWriters, each on a goroutine of its own:
// encoding and compressing Parquet is most of the work left to the scan's
// single consumer, which would otherwise bound analyze to about one core
// of it. All the rows of an object go to one writer, chosen by its key;
// each writer has its own files (report.Share) and its share of the
// memory bounds. Write and Close are called from one goroutine, the
// scan's consumer; Close (or abort) waits for every writer goroutine.
type eventsSink struct {
	writers []*report.EventsWriter
	queues  []chan eventsJob
	wg      sync.WaitGroup

	// seed picks the writer of an object by its key's hash.
	seed maphash.Seed

	mu  sync.Mutex
	err error // the first writer error
}

type eventsJob struct {
	r *ingest.Result
	v analyzer.Verdict
}

// eventsQueue is how many objects wait for each writer: enough to keep it
// busy, few enough that what they hold stays small.
const eventsQueue = 2

func newEventsSink(open func(report.Partition) (io.WriteCloser, error), opts report.EventsOptions) *eventsSink {
	n := min(runtime.GOMAXPROCS(0), maxEventWriters)
	s := &eventsSink{seed: maphash.MakeSeed()}
	for i := range n {
		o := opts
		o.Share = report.Share{Index: i, Of: n}
		w := report.NewEventsWriter(open, o)
		q := make(chan eventsJob, eventsQueue)
		s.writers = append(s.writers, w)
		s.queues = append(s.queues, q)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for job := range q {
				// After an error the writer refuses every row; the
				// queue is still drained so that Write never blocks.
				if err := w.Write(job.r, job.v); err != nil {
					s.fail(err)
				}
			}
		}()
	}
	return s
}

func (s *eventsSink) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *eventsSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Write hands an object's records to its writer. The caller must not
// touch r afterwards. It returns the first error any writer met.
func (s *eventsSink) Write(r *ingest.Result, v analyzer.Verdict) error {
	if err := s.failed(); err != nil {
		return err
	}
	s.queues[maphash.String(s.seed, r.Object.Key)%uint64(len(s.queues))] <- eventsJob{r, v}
	return nil
}

// Close waits for every queued object to be written and closes the
// writers, each of which finishes its files.
func (s *eventsSink) Close() error {
	for _, q := range s.queues {
		close(q)
	}
	s.wg.Wait()
	// A writer's Close returns its first error too.
	var errs []error
	for _, w := range s.writers {
		errs = append(errs, w.Close())
	}
	return errors.Join(errs...)
}

// Rows is the number of rows written; final once Close returned.
func (s *eventsSink) Rows() int64 {
	var n int64
	for _, w := range s.writers {
		n += w.Rows()
	}
	return n
}
