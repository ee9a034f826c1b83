package lake

import (
	"bytes"
	"context"
	"flag"
	"math"
	"reflect"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/shopstream/shopstream/shared/generator"
	lakefmt "github.com/shopstream/shopstream/shared/lake"
	"github.com/shopstream/shopstream/shared/s3test"
)

var benchEvents = flag.Int("lake.events", 200_000, "generated events per run of the lake benchmarks (the issue's figure: 1000000)")

// benchData is one generated run: its event source mapping payloads
// (10,000 records each, 6 partitions per topic), and the same rows as the
// lake writes them, typed and grouped per object, for the encoding limit.
type benchData struct {
	payloads []events.KafkaEvent
	records  int
	rows     int
	objects  []func(opts []parquet.WriterOption) (int, error) // encodes one object's rows
	files    map[string]int
}

var (
	benchOnce sync.Once
	bench     benchData
)

// keepStore keeps objects in memory.
type keepStore struct {
	mu      sync.Mutex
	objects map[string][]byte
}

func (s *keepStore) Put(_ context.Context, key string, body []byte, _ map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = slices.Clone(body)
	return nil
}

func benchSetup(b *testing.B) *benchData {
	b.Helper()
	benchOnce.Do(func() {
		recs, truth := generate(b, generator.Config{Seed: 1}, *benchEvents, 6)
		bench.payloads = batches(recs, 10_000)
		bench.records = len(recs)
		bench.rows = int(truth.Records)
		// Write once, then read every object back into its row type: the
		// limit encodes exactly these rows, in these groups.
		keep := &keepStore{objects: map[string][]byte{}}
		p, err := NewProcessor(keep, discard)
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range bench.payloads {
			if _, err := p.Process(context.Background(), ev); err != nil {
				b.Fatal(err)
			}
		}
		bench.files = map[string]int{}
		for key, body := range keep.objects {
			table, _, _ := lakefmt.ParseKey(key)
			bench.files[table]++
			var enc func([]parquet.WriterOption) (int, error)
			switch table {
			case lakefmt.TableUserEvents:
				enc = encoderOf[lakefmt.UserEvent](b, body)
			case lakefmt.TableTransactions:
				enc = encoderOf[lakefmt.Transaction](b, body)
			case lakefmt.TableInventory:
				enc = encoderOf[lakefmt.InventoryUpdate](b, body)
			case lakefmt.TableFeedback:
				enc = encoderOf[lakefmt.CustomerFeedback](b, body)
			case lakefmt.TableAlerts:
				enc = encoderOf[lakefmt.Alert](b, body)
			case lakefmt.TableDeadLetters:
				enc = encoderOf[lakefmt.DeadLetter](b, body)
			default:
				b.Fatalf("object %s is not a lake object", key)
			}
			bench.objects = append(bench.objects, enc)
		}
	})
	if bench.records == 0 {
		b.Fatal("benchmark setup failed")
	}
	return &bench
}

// limitWriters holds parquet-go writers per row type, and limitBuffers
// output buffers, shared by every object as the lake writer shares them.
var (
	limitWriters sync.Map // reflect.Type -> *sync.Pool
	limitBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

func encoderOf[T any](b *testing.B, body []byte) func([]parquet.WriterOption) (int, error) {
	rows, err := parquet.Read[T](bytes.NewReader(body), int64(len(body)))
	if err != nil {
		b.Fatal(err)
	}
	p, _ := limitWriters.LoadOrStore(reflect.TypeFor[T](), new(sync.Pool))
	pool := p.(*sync.Pool)
	return func(opts []parquet.WriterOption) (int, error) {
		buf := limitBuffers.Get().(*bytes.Buffer)
		defer limitBuffers.Put(buf)
		buf.Reset()
		err := lakefmt.EncodeRows(pool, buf, rows, nil, opts...)
		return buf.Len(), err
	}
}

// The passes carry a profiler label, which the goroutines they start
// inherit: -tagfocus pass=handler (or pass=limit) in `go tool pprof` shows
// the samples of one side only.

// BenchmarkLake measures the lake function on generated traffic (-lake.events
// events, 10,000-record batches). Each iteration is the whole run, twice:
// the limit, parquet-go alone encoding the same rows into the same objects,
// already typed, with no decoding and no storage, as many at once as the
// writer does; and the handler, the whole function (base64, JSON decoding,
// conversion, encoding) storing to memory. The two alternate, so that a
// machine's changing load weighs on both alike; each wall-clock rate is
// that of its fastest pass, and the per-CPU-second rates count the CPU time
// of this process only (user and system, all threads, GC included). "handler-s3" stores to a real S3 server. Metrics: rows/s
// of each, x-limit (the handler's rate as a share of the limit's),
// bytes/row, files per table.
func BenchmarkLake(b *testing.B) {
	d := benchSetup(b)
	b.Run("handler-vs-limit", func(b *testing.B) {
		opts := lakefmt.ParquetOptions(zstd.SpeedFastest)
		ns := &nullStore{}
		p, err := NewProcessor(ns, discard)
		if err != nil {
			b.Fatal(err)
		}
		// The fastest pass of each is what the code can do; slower passes
		// measure other load on the machine.
		// The CPU time this process spends is the measure that other
		// load on the machine disturbs least.
		limitTime, handlerTime := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
		var limitCPU, handlerCPU time.Duration
		var limitBytes int64
		for b.Loop() {
			start, cpu := time.Now(), cpuTime(b)
			pprof.Do(context.Background(), pprof.Labels("pass", "limit"), func(context.Context) {
				limitBytes += encodeAll(b, d, opts)
			})
			limitTime = min(limitTime, time.Since(start))
			limitCPU += cpuTime(b) - cpu
			start, cpu = time.Now(), cpuTime(b)
			pprof.Do(context.Background(), pprof.Labels("pass", "handler"), func(ctx context.Context) {
				for _, ev := range d.payloads {
					if _, err := p.Process(ctx, ev); err != nil {
						b.Fatal(err)
					}
				}
			})
			handlerTime = min(handlerTime, time.Since(start))
			handlerCPU += cpuTime(b) - cpu
		}
		n := float64(b.N)
		limit := float64(d.rows) / limitTime.Seconds()
		handler := float64(d.records) / handlerTime.Seconds()
		b.ReportMetric(limit, "limit-rows/s")
		b.ReportMetric(handler, "rows/s")
		b.ReportMetric(handler/limit, "x-limit")
		limitPerCPU := float64(d.rows) * n / limitCPU.Seconds()
		handlerPerCPU := float64(d.records) * n / handlerCPU.Seconds()
		b.ReportMetric(limitPerCPU, "limit-rows/cpu-s")
		b.ReportMetric(handlerPerCPU, "rows/cpu-s")
		b.ReportMetric(handlerPerCPU/limitPerCPU, "x-limit-cpu")
		b.ReportMetric(float64(ns.bytes.Load())/n/float64(d.records), "bytes/row")
		b.ReportMetric(float64(limitBytes)/n/float64(d.rows), "limit-bytes/row")
		for table, f := range d.files {
			b.ReportMetric(float64(f), "files/"+strings.ReplaceAll(table, "_", "-"))
		}
		b.ReportMetric(0, "ns/op")
	})
	// The handler and the limit alone, for profiles of either.
	b.Run("handler", func(b *testing.B) {
		p, err := NewProcessor(&nullStore{}, discard)
		if err != nil {
			b.Fatal(err)
		}
		pprof.Do(context.Background(), pprof.Labels("pass", "handler"), func(ctx context.Context) {
			for b.Loop() {
				for _, ev := range d.payloads {
					if _, err := p.Process(ctx, ev); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.ReportMetric(float64(d.records)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("limit", func(b *testing.B) {
		opts := lakefmt.ParquetOptions(zstd.SpeedFastest)
		pprof.Do(context.Background(), pprof.Labels("pass", "limit"), func(context.Context) {
			for b.Loop() {
				encodeAll(b, d, opts)
			}
		})
		b.ReportMetric(float64(d.rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(0, "ns/op")
	})
	b.Run("handler-s3", func(b *testing.B) {
		p, err := NewProcessor(NewS3Store(s3test.Client(b), s3test.Bucket(b)), discard)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			for _, ev := range d.payloads {
				if _, err := p.Process(context.Background(), ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(d.records)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(0, "ns/op")
	})
}

// encodeAll encodes every object of d with parquet-go alone, as many at
// once as the writer does, and returns the bytes written.
func encodeAll(b *testing.B, d *benchData, opts []parquet.WriterOption) int64 {
	var size atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 4))
	for _, enc := range d.objects {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := enc(opts)
			if err != nil {
				b.Error(err)
			}
			size.Add(int64(n))
		})
	}
	wg.Wait()
	return size.Load()
}

// cpuTime returns the CPU time this process has used, all threads.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
