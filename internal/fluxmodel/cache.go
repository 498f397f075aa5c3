package fluxmodel

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/api/resource"
)

// Cache keeps kustomize builds for reuse by the next Load of another
// checkout of the same repository: a full diff (LoadCached) builds BASE,
// then HEAD, and every Flux Kustomization whose inputs did not change
// between them is built once; LoadRange uses it for the levels it builds
// on both sides and for a Kustomization it has to build on both. A build is reused when its folder and Flux Kustomization spec are
// the same and every file, folder listing and existence check the build
// made reads the same in the other checkout (the files are compared by
// content hash, so the answer is exactly the one kustomize would give).
// Builds that failed are not kept: their messages name the checkout.
//
// A Cache is safe for concurrent use.
type Cache struct {
	mu     sync.Mutex
	builds map[string][]*cachedBuild
	hits   atomic.Int64
	misses atomic.Int64
}

// NewCache returns an empty cache.
func NewCache() *Cache { return &Cache{builds: map[string][]*cachedBuild{}} }

// Stats returns how many builds were reused and how many were run.
func (c *Cache) Stats() (hits, misses int64) { return c.hits.Load(), c.misses.Load() }

// LoadCached is Load with builds reused from, and kept in, c (nil: none).
func LoadCached(ctx context.Context, root string, c *Cache) (*Model, error) {
	return loadModel(ctx, root, c, true)
}

// LoadCheckout is LoadCached of a checkout on disk or a commit's tree.
func LoadCheckout(ctx context.Context, co Checkout, c *Cache) (*Model, error) {
	fl, err := co.files()
	if err != nil {
		return nil, err
	}
	return loadFiles(ctx, fl, c, true)
}

type cachedBuild struct {
	reads []read
	res   []*resource.Resource
}

// read is one question a build asked the file system, and the answer.
type read struct {
	op   byte // 'f' file content, 'e' exists, 'd' is a folder, 'l' folder listing, 'w' walk
	rel  string
	hash [32]byte
}

func cacheKey(dir string, obj map[string]any) string {
	spec, _ := json.Marshal(obj["spec"])
	return dir + "\x00" + string(spec)
}

func (c *Cache) lookup(key string, fl *files) ([]*resource.Resource, bool) {
	c.mu.Lock()
	cands := append([]*cachedBuild(nil), c.builds[key]...)
	c.mu.Unlock()
	for _, cb := range cands {
		if cb.valid(fl) {
			c.hits.Add(1)
			return cb.res, true
		}
	}
	c.misses.Add(1)
	return nil, false
}

func (c *Cache) store(key string, rec *recorder, res []*resource.Resource) {
	reads, ok := rec.list()
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.builds[key] = append(c.builds[key], &cachedBuild{reads: reads, res: res})
}

// valid reports whether every read gives the same answer in fl.
func (cb *cachedBuild) valid(fl *files) bool {
	for _, r := range cb.reads {
		if answer(fl, r.op, r.rel) != r.hash {
			return false
		}
	}
	return true
}

// answer asks the question op about rel in fl, hashed.
func answer(fl *files, op byte, rel string) [32]byte {
	p := fl.abs(rel)
	switch op {
	case 'f':
		data, err := fl.readFile(p)
		if err != nil {
			return sha256.Sum256([]byte("\x00missing"))
		}
		return sha256.Sum256(data)
	case 'e', 'd':
		st, err := fl.stat(p)
		s := "none"
		if err == nil {
			s = "file"
			if st.IsDir() {
				s = "dir"
			}
		}
		return sha256.Sum256([]byte(s))
	case 'l':
		entries, err := fl.readDir(p)
		if err != nil {
			return sha256.Sum256([]byte("\x00missing"))
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return sha256.Sum256([]byte(strings.Join(names, "\x00")))
	case 'w':
		var seen []string
		_ = fl.walkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				seen = append(seen, "!"+q[len(p):])
				return nil
			}
			if d.IsDir() {
				seen = append(seen, q[len(p):]+"/")
			} else {
				seen = append(seen, q[len(p):])
			}
			return nil
		})
		return sha256.Sum256([]byte(strings.Join(seen, "\x00")))
	}
	return [32]byte{}
}

// recorder notes what a build reads from the checkout fl.
type recorder struct {
	fl   *files
	mu   sync.Mutex
	seen map[string]bool
	out  []read
	// bad is set when the build read something that cannot be checked
	// again (outside the root, a glob): the build is then not kept.
	bad bool
}

func newRecorder(fl *files) *recorder { return &recorder{fl: fl, seen: map[string]bool{}} }

func (r *recorder) note(op byte, abs string) {
	if r == nil {
		return
	}
	rel, err := filepath.Rel(r.fl.root, filepath.Clean(abs))
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || strings.HasPrefix(rel, "..") {
		r.bad = true
		return
	}
	rel = filepath.ToSlash(rel)
	k := string(op) + rel
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	r.out = append(r.out, read{op: op, rel: rel, hash: answer(r.fl, op, rel)})
}

func (r *recorder) spoil() {
	if r != nil {
		r.mu.Lock()
		r.bad = true
		r.mu.Unlock()
	}
}

func (r *recorder) list() ([]read, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]read(nil), r.out...)
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, !r.bad
}
