package gitrepo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
)

// restorePoint is the checkout as it was before Publish changed it: the
// commit HEAD was at and the bytes of the files to be edited (uncommitted
// changes included, with AllowDirty).
type restorePoint struct {
	repo  *Repo
	head  string
	files map[string][]byte
	// scratch is where the atomic writes keep their temporary files
	// (under .git, so a crash leaves none in the work tree).
	scratch string
}

func (r *Repo) restorePoint(ctx context.Context, files []string, scratch string) (*restorePoint, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, err
	}
	rp := &restorePoint{repo: r, head: head, files: map[string][]byte{}, scratch: scratch}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		rp.files[f] = data
	}
	return rp, nil
}

// restore puts the branch back at the commit it was at and the files back
// as they were. Commits pulled in by a retry (`reset --keep FETCH_HEAD`)
// go too; other uncommitted changes stay.
func (rp *restorePoint) restore(ctx context.Context) error {
	r := rp.repo
	head, err := r.Head(ctx)
	if err != nil {
		return err
	}
	if head != rp.head {
		paths := make([]string, 0, len(rp.files))
		for f := range rp.files {
			paths = append(paths, f)
		}
		// The edited files as HEAD has them, so that --keep moves them
		// too; their bytes from before are written back below.
		if _, err := r.Git(ctx, append([]string{"checkout", "--quiet", "HEAD", "--"}, paths...)...); err != nil {
			return err
		}
		if _, err := r.Git(ctx, "reset", "--quiet", "--keep", rp.head); err != nil {
			return fmt.Errorf("moving the branch back to %s: %w", Short(rp.head), err)
		}
	}
	for f, data := range rp.files {
		full := filepath.Join(r.Root, filepath.FromSlash(f))
		if cur, err := os.ReadFile(full); err == nil && bytes.Equal(cur, data) {
			continue
		}
		mode := os.FileMode(0o644)
		if st, err := os.Stat(full); err == nil {
			mode = st.Mode().Perm()
		}
		if err := writeFileAtomic(full, data, mode, rp.scratch); err != nil {
			return err
		}
	}
	return nil
}

// cleanupContext outlives a cancelled ctx for as long as putting things
// back takes: the signal stops the work, not its undoing.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// stoppedAt is Publish's answer to a cancelled ctx after it changed
// something: put the checkout back (rp nil: nothing to put back) and
// return the signal's error.
func stoppedAt(ctx context.Context, rp *restorePoint) error {
	if rp != nil {
		cctx, cancel := cleanupContext(ctx)
		defer cancel()
		if err := rp.restore(cctx); err != nil {
			return fmt.Errorf("%w; putting the checkout back failed: %v", interrupt.Err(ctx), err)
		}
	}
	return interrupt.Err(ctx)
}

// dropBranch deletes the branch Publish created for a change that was
// stopped before it was pushed, once the checkout is back where it was.
func (p *Publisher) dropBranch(ctx context.Context) {
	if p.opts.Branch == "" || p.opts.ReplaceBranch {
		return
	}
	cctx, cancel := cleanupContext(ctx)
	defer cancel()
	_, _ = p.repo.Git(cctx, "branch", "--quiet", "-D", p.opts.Branch)
}
