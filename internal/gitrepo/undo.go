package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
)

// restorePoint is the checkout as it was before Publish changed it: the
// commit HEAD was at and the bytes of the files to be edited (uncommitted
// changes included, with AllowDirty). The bytes are kept on disk, as a
// hard link in the scratch directory to the file as it was (the atomic
// write replaces the file, so the old one stays whole): a large file is
// not held in memory for an undo that is rarely needed. Where a link
// cannot be made, the bytes are kept in memory.
type restorePoint struct {
	repo  *Repo
	head  string
	files map[string][]byte
	links map[string]string
	// absent are the files the change creates: undone by removing them.
	absent map[string]bool
	// scratch is where the atomic writes keep their temporary files
	// (under .git, so a crash leaves none in the work tree).
	scratch string
}

func (r *Repo) restorePoint(ctx context.Context, files []string, scratch string) (*restorePoint, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, err
	}
	rp := &restorePoint{repo: r, head: head, files: map[string][]byte{}, links: map[string]string{}, absent: map[string]bool{}, scratch: scratch}
	for i, f := range files {
		full := filepath.Join(r.Root, filepath.FromSlash(f))
		link := filepath.Join(scratch, fmt.Sprintf("%srestore-%d", scratchPrefix(), i))
		_ = os.Remove(link)
		if os.Link(full, link) == nil {
			rp.links[f] = link
			continue
		}
		data, err := os.ReadFile(full)
		if errors.Is(err, fs.ErrNotExist) {
			rp.absent[f] = true
			continue
		}
		if err != nil {
			rp.drop()
			return nil, err
		}
		rp.files[f] = data
	}
	return rp, nil
}

// drop removes the links; the restore point cannot be used after.
func (rp *restorePoint) drop() {
	for _, l := range rp.links {
		_ = os.Remove(l)
	}
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
	for f, l := range rp.links {
		data, err := os.ReadFile(l)
		if err != nil {
			return fmt.Errorf("reading the copy of %s from before the change: %w", f, err)
		}
		rp.files[f] = data
		_ = os.Remove(l)
		delete(rp.links, f)
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
	for f := range rp.absent {
		// Created by the change, with an intent-to-add entry (CommitFiles):
		// both go.
		if _, err := r.Git(ctx, "rm", "--cached", "--quiet", "--ignore-unmatch", "--", f); err != nil {
			return err
		}
		if err := os.Remove(filepath.Join(r.Root, filepath.FromSlash(f))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
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
