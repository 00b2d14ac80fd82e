package version_test

import (
	"runtime/debug"
	"testing"

	"github.com/eventlog/eventlog/internal/version"
	"github.com/google/go-cmp/cmp"
)

func TestFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{
		{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
		{Key: "vcs", Value: "git"},
		{Key: "vcs.revision", Value: "287006d1a2b3c4d5e6f708192a3b4c5d6e7f8091"},
		{Key: "vcs.time", Value: "2026-11-27T17:07:23Z"},
		{Key: "vcs.modified", Value: "true"},
	}
	tests := []struct {
		name       string
		bi         *debug.BuildInfo
		stamp      string
		want       version.Info
		wantString string
		wantLong   string
	}{
		{
			name: "installed at a tag",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/eventlog/eventlog", Version: "v1.2.3"},
				Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
			want:       version.Info{Version: "v1.2.3", Go: "go1.26.8", Platform: "linux/amd64"},
			wantString: "v1.2.3",
			wantLong:   "eventlog v1.2.3\nbuilt with go1.26.8 linux/amd64\n",
		},
		{
			name: "built in a work tree with changes",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs,
				Main: debug.Module{Path: "github.com/eventlog/eventlog", Version: "v0.0.0-20261127170723-287006d1a2b3+dirty"}},
			want: version.Info{Version: "v0.0.0-20261127170723-287006d1a2b3+dirty", Revision: "287006d1a2b3c4d5e6f708192a3b4c5d6e7f8091",
				Time: "2026-11-27T17:07:23Z", Modified: true, Go: "go1.26.8", Platform: "linux/arm64"},
			wantString: "v0.0.0-20261127170723-287006d1a2b3+dirty",
			wantLong: "eventlog v0.0.0-20261127170723-287006d1a2b3+dirty\n" +
				"revision 287006d1a2b3c4d5e6f708192a3b4c5d6e7f8091 (with uncommitted changes)\n" +
				"commit time 2026-11-27T17:07:23Z\nbuilt with go1.26.8 linux/arm64\n",
		},
		{
			name: "a revision without a module version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Settings: vcs, Main: debug.Module{Path: "github.com/eventlog/eventlog", Version: "(devel)"}},
			want: version.Info{Version: "(devel)", Revision: "287006d1a2b3c4d5e6f708192a3b4c5d6e7f8091",
				Time: "2026-11-27T17:07:23Z", Modified: true, Go: "go1.26.8", Platform: "linux/arm64"},
			wantString: "(devel)+287006d1a2b3.dirty",
			wantLong: "eventlog (devel)\nrevision 287006d1a2b3c4d5e6f708192a3b4c5d6e7f8091 (with uncommitted changes)\n" +
				"commit time 2026-11-27T17:07:23Z\nbuilt with go1.26.8 linux/arm64\n",
		},
		{
			name: "stamped by the linker",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/eventlog/eventlog", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
			stamp:      "v1.3.0-rc.1",
			want:       version.Info{Version: "v1.3.0-rc.1", Go: "go1.26.8", Platform: "linux/amd64"},
			wantString: "v1.3.0-rc.1",
			wantLong:   "eventlog v1.3.0-rc.1\nbuilt with go1.26.8 linux/amd64\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := version.FromBuildInfo(tt.bi, tt.stamp)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromBuildInfo (-want +got):\n%s", diff)
			}
			if s := got.String(); s != tt.wantString {
				t.Errorf("String() = %q, want %q", s, tt.wantString)
			}
			if diff := cmp.Diff(tt.wantLong, got.Long()); diff != "" {
				t.Errorf("Long() (-want +got):\n%s", diff)
			}
		})
	}
	if got := version.FromBuildInfo(nil, ""); got.Version != "(devel)" || got.Go == "" || got.Platform == "" {
		t.Errorf("FromBuildInfo(nil) = %+v, want (devel) with the running toolchain", got)
	}
}
