package lake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Compaction merges the small files of a partition into large ones.
//
// The lake function writes one object per batch, hour and Kafka
// topic-partition; Athena pays per object it opens, so a partition of many
// small files is slow and dear to read. A compaction of one partition:
//
//  1. lists the partition and resolves what a reader sees (Resolve);
//  2. reads the visible small files (and compacted files of an earlier
//     generation that are well under the target size), keeps each Kafka
//     record once, and writes them as new files of the next generation,
//     compacted-G-HASH-N.parquet, each up to the target size;
//  3. commits the generation by creating its manifest, _compaction-G.json,
//     which names its outputs and the inputs they supersede (and those the
//     earlier generations superseded); the create is conditional, so of
//     two compactions of one partition racing for a generation one commits
//     and the other stops with ErrConcurrentCompaction, deleting nothing;
//  4. deletes the superseded inputs, older outputs and manifests.
//
// A reader that follows the manifests (Resolve, and with it CountS3,
// `shopstream query` and the lake's verification) sees, before step 3, the
// old files and no output of the new generation (an output not named by
// the latest manifest is never read), and from step 3 on, the new outputs
// and none of the inputs: each row exactly once at every moment, because
// the switch is the store of one object.
//
// A crash at any point leaves garbage at worst: outputs of an uncommitted
// generation, or superseded inputs not yet deleted. A rerun resolves the
// partition the same way, rewrites the uncommitted generation (under the
// same or a new hash) or finds nothing to merge, and deletes the garbage,
// so it converges; a run over a compacted partition changes nothing.
//
// Small files the lake function writes during a compaction (late events of
// the hour) are not among its inputs and stay visible beside the outputs;
// the next compaction merges them. A small file superseded by a manifest is
// hidden even if it is written again under the same key (a batch
// redelivered after its hour was compacted): compact hours that are closed,
// which CompactDate's minimum age ensures.
type Compactor struct {
	objs   Objects
	prefix string
	target int64
	level  zstd.Level
	now    func() time.Time
	step   func(step string) error
}

// CompactOption configures a Compactor.
type CompactOption func(*Compactor)

// WithCompactPrefix sets the lake's key prefix. Default: none.
func WithCompactPrefix(prefix string) CompactOption { return func(c *Compactor) { c.prefix = prefix } }

// WithTargetSize sets the size an output is aimed at, in bytes of the input
// files it merges. Default: 128 MiB.
func WithTargetSize(n int64) CompactOption { return func(c *Compactor) { c.target = n } }

// WithCompactClock sets the clock of manifests and minimum ages. Default:
// time.Now.
func WithCompactClock(now func() time.Time) CompactOption { return func(c *Compactor) { c.now = now } }

// WithStepHook calls hook before each step that changes the store, with the
// step's name: StepPutOutput (once per output), StepCommit, StepDelete. An
// error from hook stops the compaction there and is returned, as a crash
// would stop it. Default: none.
func WithStepHook(hook func(step string) error) CompactOption {
	return func(c *Compactor) { c.step = hook }
}

// ErrConcurrentCompaction is returned when another compaction of the same
// partition committed first; the partition is consistent, and a rerun
// finishes the work.
var ErrConcurrentCompaction = errors.New("the partition was compacted concurrently")

// Steps of a compaction, as WithStepHook names them.
const (
	StepPutOutput = "put-output"
	StepCommit    = "commit"
	StepDelete    = "delete"
)

// NewCompactor returns a Compactor of the lake in objs.
func NewCompactor(objs Objects, opts ...CompactOption) *Compactor {
	c := &Compactor{objs: objs, target: 128 << 20, level: zstd.SpeedDefault, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	if c.target < 1 {
		c.target = 1
	}
	return c
}

// CompactResult describes the compaction of one partition.
type CompactResult struct {
	Table     string
	Partition Partition
	// Generation is the partition's committed generation after the run
	// (0: never compacted); Compacted is true when this run committed it.
	Generation int
	Compacted  bool
	// Files and bytes a reader reads, before and after; the rows they hold.
	FilesBefore, FilesAfter int
	BytesBefore, BytesAfter int64
	Rows                    int64
	// Deleted counts the objects removed: superseded inputs and garbage.
	Deleted int
	// Young is true when CompactDate left the partition alone because its
	// hour ended less than the minimum age ago (or has not ended).
	Young bool
	Took  time.Duration
}

// CompactDate compacts every hour partition of table on date (YYYY-MM-DD)
// whose hour ended at least minAge ago (any hour, ended or not, when
// minAge is 0); the others are in the results,
// marked Young and untouched.
func (c *Compactor) CompactDate(ctx context.Context, table, date string, minAge time.Duration) ([]CompactResult, error) {
	if _, ok := TableNamed(table); !ok {
		return nil, fmt.Errorf("no table %q", table)
	}
	day, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return nil, fmt.Errorf("date %q: %w", date, err)
	}
	views, err := Resolve(ctx, c.objs, c.prefix, table+"/"+PartitionDate+"="+date+"/")
	if err != nil {
		return nil, err
	}
	var out []CompactResult
	for _, v := range views {
		h, _ := strconv.Atoi(v.Partition.Hour)
		if end := day.Add(time.Duration(h+1) * time.Hour); minAge > 0 && c.now().Sub(end) < minAge {
			r := CompactResult{Table: table, Partition: v.Partition, FilesBefore: len(v.Visible), FilesAfter: len(v.Visible), Young: true}
			if v.Manifest != nil {
				r.Generation = v.Manifest.Generation
			}
			for _, o := range v.Visible {
				r.BytesBefore += o.Size
			}
			r.BytesAfter = r.BytesBefore
			out = append(out, r)
			continue
		}
		r, err := c.CompactPartition(ctx, table, v.Partition)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// CompactPartition compacts one partition of table; see Compactor.
func (c *Compactor) CompactPartition(ctx context.Context, table string, p Partition) (CompactResult, error) {
	start := time.Now()
	res := CompactResult{Table: table, Partition: p}
	ti := slices.IndexFunc(tables[:], func(t Table) bool { return t.Name == table })
	if ti < 0 {
		return res, fmt.Errorf("no table %q", table)
	}
	dir := c.prefix + table + "/" + p.Path() + "/"
	views, err := Resolve(ctx, c.objs, c.prefix, table+"/"+p.Path()+"/")
	if err != nil {
		return res, err
	}
	if len(views) == 0 {
		res.Took = time.Since(start)
		return res, nil
	}
	v := views[0]
	res.FilesBefore = len(v.Visible)
	for _, o := range v.Visible {
		res.BytesBefore += o.Size
	}
	gen := 0
	var carried []ManifestFile
	outputSize := map[string]ManifestFile{}
	if v.Manifest != nil {
		gen = v.Manifest.Generation
		for _, o := range v.Manifest.Outputs {
			outputSize[o.Name] = o
		}
	}
	res.Generation = gen

	// The inputs: every visible small file, and the outputs well under the
	// target when there are small files to merge them with.
	var small, inputs []ObjectInfo
	for _, o := range v.Visible {
		if !IsCompacted(o.Key[len(dir):]) {
			small = append(small, o)
		}
	}
	for _, o := range v.Visible {
		name := o.Key[len(dir):]
		switch {
		case !IsCompacted(name):
			inputs = append(inputs, o)
		case len(small) > 0 && o.Size < c.target/2:
			inputs = append(inputs, o)
		default:
			carried = append(carried, outputSize[name])
		}
	}
	garbage := v.Garbage
	if len(small) > 0 && len(inputs) >= 2 {
		gen++
		m, outs, err := c.merge(ctx, ti, v, dir, gen, inputs, carried)
		if err != nil {
			return res, err
		}
		body, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return res, err
		}
		if err := c.hook(StepCommit); err != nil {
			return res, err
		}
		key := dir + ManifestName(gen)
		if err := c.objs.Create(ctx, key, body); err != nil {
			if errors.Is(err, os.ErrExist) {
				// Another compaction committed this generation since the
				// listing: its manifest stands, this run's outputs are
				// garbage for the next run, and nothing is deleted here.
				return res, fmt.Errorf("commit %s: %w", key, ErrConcurrentCompaction)
			}
			return res, fmt.Errorf("commit %s: %w", key, err)
		}
		res.Compacted, res.Generation = true, gen
		// What the commit superseded is garbage now, with the earlier
		// manifest and any output of this generation not named by it.
		for _, o := range inputs {
			garbage = append(garbage, o.Key)
		}
		if v.ManifestKey != "" {
			garbage = append(garbage, v.ManifestKey)
		}
		// An uncommitted output of an earlier run may have the name of an
		// output just committed: that key is not garbage any more.
		kept := map[string]bool{}
		for _, o := range m.Outputs {
			kept[dir+o.Name] = true
		}
		garbage = slices.DeleteFunc(slices.Clone(garbage), func(k string) bool { return kept[k] })
		res.FilesAfter, res.BytesAfter = len(outs)+len(carried), 0
		for _, o := range m.Outputs {
			res.BytesAfter += o.Bytes
		}
		res.Rows = m.Rows
	} else {
		res.FilesAfter, res.BytesAfter = res.FilesBefore, res.BytesBefore
		if v.Manifest != nil {
			res.Rows = v.Manifest.Rows
		}
		// Outputs of the next generation may belong to a compaction still
		// running: only a run that commits that generation deletes them.
		garbage = slices.DeleteFunc(slices.Clone(garbage), func(k string) bool {
			g, ok := outputGeneration(k[len(dir):])
			return ok && g == gen+1
		})
	}
	if len(garbage) > 0 {
		if err := c.hook(StepDelete); err != nil {
			return res, err
		}
		if err := c.objs.Delete(ctx, garbage); err != nil {
			return res, fmt.Errorf("delete superseded files of %s: %w", dir, err)
		}
		res.Deleted = len(garbage)
	}
	res.Took = time.Since(start)
	return res, nil
}

func (c *Compactor) hook(step string) error {
	if c.step == nil {
		return nil
	}
	return c.step(step)
}

// merge reads inputs, writes the outputs of generation gen, and returns
// the manifest that commits them with carried.
func (c *Compactor) merge(ctx context.Context, ti int, v PartitionView, dir string, gen int,
	inputs []ObjectInfo, carried []ManifestFile) (*Manifest, []ManifestFile, error) {
	h := sha256.New()
	for _, o := range inputs {
		fmt.Fprintf(h, "%s %d\n", o.Key[len(dir):], o.Size)
	}
	// Reading many small objects waits on the store: read them at once.
	bodies := make([][]byte, len(inputs))
	errs := make([]error, len(inputs))
	sem := make(chan struct{}, readConcurrency)
	var wg sync.WaitGroup
	for i, o := range inputs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			bodies[i], errs[i] = c.objs.Get(ctx, o.Key)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("read %s: %w", o.Key, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	var inBytes int64
	for _, b := range bodies {
		inBytes += int64(len(b))
	}
	hash := hex.EncodeToString(h.Sum(nil))[:8]
	parts, rows, err := mergers[ti].merge(bodies, inBytes, c.target, ParquetOptions(c.level))
	if err != nil {
		return nil, nil, fmt.Errorf("merge %s: %w", dir, err)
	}
	m := &Manifest{Table: v.Table, Date: v.Partition.Date, Hour: v.Partition.Hour, Generation: gen,
		CreatedAt: c.now().UTC(), Rows: rows}
	var outs []ManifestFile
	for i, p := range parts {
		name := fmt.Sprintf("%s%08d-%s-%03d.parquet", CompactedPrefix, gen, hash, i)
		if err := c.hook(StepPutOutput); err != nil {
			return nil, nil, err
		}
		meta := map[string]string{MetaRows: strconv.FormatInt(p.rows, 10), "generation": strconv.Itoa(gen)}
		if err := c.objs.Put(ctx, dir+name, p.body, meta); err != nil {
			return nil, nil, fmt.Errorf("write %s: %w", dir+name, err)
		}
		outs = append(outs, ManifestFile{Name: name, Rows: p.rows, Bytes: int64(len(p.body))})
	}
	for _, f := range carried {
		m.Rows += f.Rows
	}
	m.Outputs = append(append(m.Outputs, carried...), outs...)
	// What earlier generations superseded stays superseded: their inputs
	// may not be deleted yet (a crash before their deletes), or may be
	// written again by a redelivered batch.
	seen := map[string]bool{}
	if v.Manifest != nil {
		for _, n := range v.Manifest.Inputs {
			if !IsCompacted(n) && !seen[n] {
				seen[n] = true
				m.Inputs = append(m.Inputs, n)
			}
		}
	}
	for _, o := range inputs {
		if n := o.Key[len(dir):]; !seen[n] {
			seen[n] = true
			m.Inputs = append(m.Inputs, n)
		}
	}
	slices.Sort(m.Inputs)
	return m, outs, nil
}

// readConcurrency is how many inputs a compaction reads at once.
const readConcurrency = 16

// encoded is one output file.
type encoded struct {
	body []byte
	rows int64
}

// merger merges the files of one table.
type merger interface {
	merge(bodies [][]byte, inBytes, target int64, opts []parquet.WriterOption) ([]encoded, int64, error)
}

var mergers = [numTables]merger{
	rowMerger[UserEvent]{}, rowMerger[Transaction]{}, rowMerger[InventoryUpdate]{},
	rowMerger[CustomerFeedback]{}, rowMerger[Alert]{}, rowMerger[DeadLetter]{},
}

// kafkaRow is a row type: every one embeds Common.
type kafkaRow interface {
	UserEvent | Transaction | InventoryUpdate | CustomerFeedback | Alert | DeadLetter
}

type rowMerger[T kafkaRow] struct{}

func commonOf[T kafkaRow](r *T) *Common {
	switch r := any(r).(type) {
	case *UserEvent:
		return &r.Common
	case *Transaction:
		return &r.Common
	case *InventoryUpdate:
		return &r.Common
	case *CustomerFeedback:
		return &r.Common
	case *Alert:
		return &r.Common
	case *DeadLetter:
		return &r.Common
	}
	panic("unreachable")
}

// merge reads every row of bodies through T (columns a file lacks, from an
// older schema, read as NULL), keeps each Kafka record once, sorts by Kafka
// coordinates, and encodes them into files of about target input bytes.
func (rowMerger[T]) merge(bodies [][]byte, inBytes, target int64, opts []parquet.WriterOption) ([]encoded, int64, error) {
	var rows []T
	for _, b := range bodies {
		f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, 0, err
		}
		rs, err := readAll[T](f)
		if err != nil {
			return nil, 0, err
		}
		rows = append(rows, rs...)
	}
	key := func(r *T) (string, int32, int64) {
		c := commonOf(r)
		return c.KafkaTopic, c.KafkaPartition, c.KafkaOffset
	}
	slices.SortStableFunc(rows, func(a, b T) int {
		at, ap, ao := key(&a)
		bt, bp, bo := key(&b)
		return cmp.Or(strings.Compare(at, bt), cmp.Compare(ap, bp), cmp.Compare(ao, bo))
	})
	rows = slices.CompactFunc(rows, func(a, b T) bool {
		at, ap, ao := key(&a)
		bt, bp, bo := key(&b)
		return at == bt && ap == bp && ao == bo
	})
	n := int64(len(rows))
	per := n
	if inBytes > target {
		per = max(1, n*target/inBytes)
	}
	var out []encoded
	for chunk := range slices.Chunk(rows, int(max(per, 1))) {
		var buf bytes.Buffer
		meta := map[string]string{MetaRows: strconv.Itoa(len(chunk))}
		if err := EncodeRows(nil, &buf, chunk, meta, opts...); err != nil {
			return nil, 0, err
		}
		out = append(out, encoded{body: buf.Bytes(), rows: int64(len(chunk))})
	}
	return out, n, nil
}
