package lambdaruntime_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/shopstream/shopstream/shared/esm"
	"github.com/shopstream/shopstream/shared/lambdaruntime"
)

// TestCrashMidBatchUnderMapping runs the real bootstrap behind an event
// source mapping, crashes it in the middle of a batch, and checks that every
// record is processed exactly once in the end: the crashed batch is retried
// whole on a fresh process and nothing after it is lost.
func TestCrashMidBatchUnderMapping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const n = 300
	want := map[string]bool{}
	for i := range n {
		value := fmt.Sprintf("ok-%d", i)
		if i == 150 {
			value = "exit-once:" + filepath.Join(dir, "crashed")
		}
		r := &kgo.Record{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(value)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		want[fmt.Sprintf("orders-%d@%d", r.Partition, r.Offset)] = true
	}

	fn, err := lambdaruntime.New("crashy", bootstrap, lambdaruntime.WithEnv(map[string]string{"KAFKAFN_DONE_FILE": done}),
		lambdaruntime.WithOutput(&strings.Builder{}))
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Close()
	m, err := esm.New(esm.Config{FunctionName: "crashy", Topic: "orders", BootstrapServers: cluster.ListenAddrs(),
		BatchSize: 40, MaxBatchingWindow: 50 * time.Millisecond, StartingPosition: esm.TrimHorizon,
		RetryAttempts: new(2)}, fn)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- m.Run(runCtx) }()
	if err := m.WaitDrained(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}

	b, err := os.ReadFile(done)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, line := range strings.Fields(string(b)) {
		seen[line]++
	}
	for r := range want {
		if seen[r] != 1 {
			t.Errorf("record %s processed %d times", r, seen[r])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d records processed, %d produced", len(seen), len(want))
	}
	st := m.Stats()
	if st.FunctionErrors != 1 || st.Retries == 0 || st.SentToDestination != 0 {
		t.Errorf("stats: %d function errors, %d retries, %d to the destination; want 1, >0, 0", st.FunctionErrors, st.Retries, st.SentToDestination)
	}
	if _, err := os.Stat(filepath.Join(dir, "crashed")); err != nil {
		t.Error("the function never crashed")
	}
}
