// Package version says which build of eventlog is running, from what the Go
// toolchain stamps into the binary (runtime/debug.ReadBuildInfo): the
// module's version, and the revision, commit time and state of the work
// tree it was built from. A build without them (a container built from a
// copy of the source without .git) can be stamped with the linker:
//
//	go build -ldflags "-X github.com/eventlog/eventlog/internal/version.stamp=v1.2.3" ./cmd/eventlog
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// stamp, when set by the linker, is the version; it wins over the build
// information.
var stamp string

// Info describes a build.
type Info struct {
	// Version is the module's version ("v1.2.3", or a pseudo-version
	// such as "v0.0.0-20261127170723-287006d1a2b3+dirty"), the linker's
	// stamp, or "(devel)" when the toolchain knew neither.
	Version string
	// Revision is the VCS commit the binary was built from, Time its
	// commit time (RFC 3339), and Modified whether the work tree had
	// changes; empty and false when unknown.
	Revision string
	Time     string
	Modified bool
	// Go is the toolchain's version, Platform the GOOS/GOARCH.
	Go       string
	Platform string
}

// Get returns the running binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi, stamp)
}

// FromBuildInfo returns the Info of a build described by bi (nil when the
// binary has none) and the linker's stamp (empty when none).
func FromBuildInfo(bi *debug.BuildInfo, stamp string) Info {
	in := Info{Version: "(devel)", Go: runtime.Version()}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			in.Version = v
		}
		in.Go = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
	}
	in.Platform = goos + "/" + goarch
	if stamp != "" {
		in.Version = stamp
	}
	return in
}

// String is the version in one word, for the OpenAPI description and
// logs: the Version, or "(devel)+REVISION" when only the revision is
// known.
func (in Info) String() string {
	if in.Version == "(devel)" && in.Revision != "" {
		v := "(devel)+" + short(in.Revision)
		if in.Modified {
			v += ".dirty"
		}
		return v
	}
	return in.Version
}

// Long is what "eventlog version" prints: the version, then what is known
// of the source and the toolchain, one item a line.
func (in Info) Long() string {
	var b strings.Builder
	fmt.Fprintf(&b, "eventlog %s\n", in.Version)
	if in.Revision != "" {
		rev := in.Revision
		if in.Modified {
			rev += " (with uncommitted changes)"
		}
		fmt.Fprintf(&b, "revision %s\n", rev)
	}
	if in.Time != "" {
		fmt.Fprintf(&b, "commit time %s\n", in.Time)
	}
	fmt.Fprintf(&b, "built with %s %s\n", in.Go, in.Platform)
	return b.String()
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
