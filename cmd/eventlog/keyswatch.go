package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/eventlog/eventlog/auth"
)

// loadKeys reads the keys file at path and returns its keys and the
// SHA-256 of its content.
func loadKeys(path string) (*auth.KeySet, [sha256.Size]byte, error) {
	data, err := readKeysFile(path)
	if err != nil {
		return nil, [sha256.Size]byte{}, err
	}
	ks, err := auth.ParseKeys(bytes.NewReader(data))
	if err != nil {
		return nil, [sha256.Size]byte{}, fmt.Errorf("%s: %w", path, err)
	}
	return ks, sha256.Sum256(data), nil
}

// readKeysFile reads at most one byte more than a keys file may hold, so
// that ParseKeys can refuse a larger one.
func readKeysFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, auth.MaxKeysFileBytes+1))
}

// reloadKeys loads the keys file again each time cfg.reload delivers
// (SIGHUP) and, every cfg.keysPoll, when its content differs from the one
// last loaded or tried, until ctx ends. loaded is the SHA-256 of the file
// loaded at start-up. Looking at the content, rather than at the file's
// time, also sees the files of a Kubernetes Secret, which are replaced by
// moving a symbolic link. A file that does not load is reported, once for
// each content, and the keys in use are kept.
func reloadKeys(ctx context.Context, cfg serveConfig, guard *auth.Guard, loaded [sha256.Size]byte, log *slog.Logger) {
	var tick <-chan time.Time
	if guard != nil && cfg.keysPoll > 0 {
		t := time.NewTicker(cfg.keysPoll)
		defer t.Stop()
		tick = t.C
	}
	tried := loaded    // the content last loaded or tried
	var readErr string // the last failure to read the file, reported once
	load := func(why string) {
		ks, sum, err := loadKeys(cfg.keysFile)
		if err != nil {
			log.Error("reload API keys failed: keeping the keys in use", "keys", guard.Keys().Len(), "reason", why, "err", err)
			return
		}
		tried = sum
		guard.Set(ks)
		log.Info("reloaded API keys", "file", cfg.keysFile, "keys", ks.Len(), "reason", why)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-cfg.reload:
			if guard == nil {
				log.Info("reload: no keys file (--keys) to read; nothing to do")
				continue
			}
			load("SIGHUP")
		case <-tick:
			data, err := readKeysFile(cfg.keysFile)
			if err != nil {
				if err.Error() != readErr {
					readErr = err.Error()
					log.Warn("cannot read the keys file to look for changes: keeping the keys in use", "err", err)
				}
				continue
			}
			readErr = ""
			if sum := sha256.Sum256(data); sum != tried {
				tried = sum
				load("the file changed")
			}
		}
	}
}
