package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the objects compaction adds to a partition folder
// (TABLE/dt=YYYY-MM-DD/hour=HH/):
//
//	compacted-GGGGGGGG-HHHHHHHH-NNN.parquet   an output of generation G
//	_compaction-GGGGGGGG.json                 the manifest that commits generation G
//
// G is the generation (1, 2, ...), zero-padded so names sort by it; H is a
// hash of the generation's inputs, so two compactions of different inputs
// never write the same output key; N numbers the outputs of a generation.
const (
	CompactedPrefix = "compacted-"
	ManifestPrefix  = "_compaction-"
)

// Manifest commits one generation of a partition's compaction: once it is
// stored, its outputs are the partition's compacted files and its inputs
// are superseded. It is the only object whose appearance changes what a
// reader sees, and S3 stores one object atomically.
type Manifest struct {
	Table      string    `json:"table"`
	Date       string    `json:"dt"`
	Hour       string    `json:"hour"`
	Generation int       `json:"generation"`
	CreatedAt  time.Time `json:"created_at"`
	Rows       int64     `json:"rows"`
	// Outputs are the partition's compacted files (names in the partition
	// folder): this generation's, and earlier ones' carried over whole.
	Outputs []ManifestFile `json:"outputs"`
	// Inputs are the names this generation superseded: small files the
	// lake function wrote, and compacted files of earlier generations.
	Inputs []string `json:"inputs"`
}

// ManifestFile is one output named by a manifest.
type ManifestFile struct {
	Name  string `json:"name"`
	Rows  int64  `json:"rows"`
	Bytes int64  `json:"bytes"`
}

// PartitionView is what one partition of one table holds for a reader,
// following the compaction manifests: the files that hold its rows, each
// row once, and the objects that no reader should read.
type PartitionView struct {
	Table     string
	Partition Partition
	// Dir is the partition's key prefix, ending in "/".
	Dir string
	// Visible are the data files a reader reads: the outputs of the latest
	// committed generation and the small files it did not supersede.
	Visible []ObjectInfo
	// Garbage are keys no reader reads: superseded small files, outputs of
	// earlier or uncommitted generations, earlier manifests.
	Garbage []string
	// Manifest is the latest committed generation; nil when the partition
	// was never compacted. ManifestKey is its key.
	Manifest    *Manifest
	ManifestKey string
}

// IsCompacted reports whether name (the last segment of a key) is an
// output of compaction.
func IsCompacted(name string) bool {
	return strings.HasPrefix(name, CompactedPrefix) && strings.HasSuffix(name, ".parquet")
}

// outputGeneration returns the generation of a compacted file's name.
func outputGeneration(name string) (int, bool) {
	if !IsCompacted(name) {
		return 0, false
	}
	g, _, _ := strings.Cut(strings.TrimPrefix(name, CompactedPrefix), "-")
	n, err := strconv.Atoi(g)
	return n, err == nil
}

// manifestGeneration returns the generation a manifest name commits.
func manifestGeneration(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, ManifestPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".json")
	if !ok {
		return 0, false
	}
	g, err := strconv.Atoi(s)
	return g, err == nil && g > 0
}

// ManifestName returns the name of generation g's manifest.
func ManifestName(g int) string { return fmt.Sprintf("%s%08d.json", ManifestPrefix, g) }

// partitionObjects are a partition's listed objects.
type partitionObjects struct {
	table     string
	partition Partition
	dir       string
	data      []ObjectInfo // *.parquet
	manifests map[int]string
}

// Resolve lists the lake under prefix+under (under narrows the listing,
// for example "user_events/dt=2026-01-02/") and returns the view of every
// partition it finds, sorted by table and partition. Objects that are not
// lake objects are ignored.
//
// A reader that lists, resolves and then reads may find a file gone when a
// compaction finished in between: it lists again. Resolve itself lists
// again when a manifest it listed is gone, or names an output that is not
// there; after five tries it returns an error matching os.ErrNotExist.
func Resolve(ctx context.Context, objs Objects, prefix, under string) ([]PartitionView, error) {
	var err error
	for range 5 {
		var views []PartitionView
		views, err = resolveOnce(ctx, objs, prefix, under)
		if err == nil {
			return views, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

func resolveOnce(ctx context.Context, objs Objects, prefix, under string) ([]PartitionView, error) {
	list, err := objs.List(ctx, prefix+under)
	if err != nil {
		return nil, err
	}
	parts := map[string]*partitionObjects{}
	var dirs []string
	for _, o := range list {
		rel := strings.TrimPrefix(o.Key, prefix)
		i := strings.LastIndexByte(rel, '/')
		if i < 0 {
			continue
		}
		name := rel[i+1:]
		g, isManifest := manifestGeneration(name)
		probe := rel
		if isManifest {
			probe = rel[:i+1] + "x.parquet"
		}
		table, part, ok := ParseKey(probe)
		if !ok || strings.Count(rel, "/") != 3 {
			continue
		}
		dir := prefix + rel[:i+1]
		po := parts[dir]
		if po == nil {
			po = &partitionObjects{table: table, partition: part, dir: dir, manifests: map[int]string{}}
			parts[dir] = po
			dirs = append(dirs, dir)
		}
		if isManifest {
			po.manifests[g] = o.Key
		} else {
			po.data = append(po.data, o)
		}
	}
	slices.Sort(dirs)
	views := make([]PartitionView, 0, len(dirs))
	for _, d := range dirs {
		v, err := resolvePartition(ctx, objs, parts[d])
		if err != nil {
			return nil, err
		}
		views = append(views, v)
	}
	return views, nil
}

func resolvePartition(ctx context.Context, objs Objects, po *partitionObjects) (PartitionView, error) {
	v := PartitionView{Table: po.table, Partition: po.partition, Dir: po.dir}
	latest := 0
	for g := range po.manifests {
		latest = max(latest, g)
	}
	for g, key := range po.manifests {
		if g != latest {
			v.Garbage = append(v.Garbage, key)
		}
	}
	outputs, inputs := map[string]bool{}, map[string]bool{}
	if latest > 0 {
		v.ManifestKey = po.manifests[latest]
		body, err := objs.Get(ctx, v.ManifestKey)
		if err != nil {
			return v, fmt.Errorf("read manifest %s: %w", v.ManifestKey, err)
		}
		var m Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return v, fmt.Errorf("manifest %s: %w", v.ManifestKey, err)
		}
		v.Manifest = &m
		for _, o := range m.Outputs {
			outputs[o.Name] = true
		}
		for _, n := range m.Inputs {
			inputs[n] = true
		}
	}
	found := 0
	for _, o := range po.data {
		name := o.Key[len(po.dir):]
		switch {
		case IsCompacted(name) && outputs[name]:
			v.Visible = append(v.Visible, o)
			found++
		case IsCompacted(name), inputs[name]:
			v.Garbage = append(v.Garbage, o.Key)
		default:
			v.Visible = append(v.Visible, o)
		}
	}
	if found != len(outputs) {
		// Listed before a newer generation replaced this one, or lost.
		return v, fmt.Errorf("%s names %d outputs, %d are there: %w", v.ManifestKey, len(outputs), found, os.ErrNotExist)
	}
	slices.Sort(v.Garbage)
	return v, nil
}
