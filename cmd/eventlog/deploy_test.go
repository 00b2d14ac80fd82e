package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The files of deploy/, read statically: no container runtime is needed.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       composeBuild      `yaml:"build"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     composeVolumes    `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart  string   `yaml:"restart"`
	User     string   `yaml:"user"`
	Profiles []string `yaml:"profiles"`
}

// composeVolumes are a service's mounts, each in the short syntax
// SOURCE:TARGET[:ro]; a mount in the long syntax (type, source, target,
// read_only) is read as the same string.
type composeVolumes []string

func (v *composeVolumes) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: volumes is not a list", n.Line)
	}
	for _, m := range n.Content {
		if m.Kind == yaml.ScalarNode {
			*v = append(*v, m.Value)
			continue
		}
		var long struct {
			Source   string `yaml:"source"`
			Target   string `yaml:"target"`
			ReadOnly bool   `yaml:"read_only"`
		}
		if err := m.Decode(&long); err != nil {
			return err
		}
		short := long.Source + ":" + long.Target
		if long.ReadOnly {
			short += ":ro"
		}
		*v = append(*v, short)
	}
	return nil
}

// composeBuild is a service's build section.
type composeBuild struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

// composeImages are the services that run an image of someone else's, not
// the one deploy/Dockerfile builds.
var composeImages = map[string]bool{"postgres": true, "prometheus": true}

func readDeploy(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	var c composeFile
	if err := yaml.Unmarshal(readDeploy(t, "compose.yaml"), &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// mountOf returns the compose volume whose target holds the file p, as
// source, target and whether it is read-only.
func mountOf(s composeService, p string) (source, target string, ro bool, ok bool) {
	for _, v := range s.Volumes {
		f := strings.Split(v, ":")
		if len(f) < 2 {
			continue
		}
		if f[1] == p || strings.HasPrefix(p, strings.TrimSuffix(f[1], "/")+"/") {
			return f[0], f[1], len(f) > 2 && strings.Contains(f[2], "ro"), true
		}
	}
	return "", "", false, false
}

// flagValue returns the value after flag in args.
func flagValue(args []string, flag string) string {
	if i := slices.Index(args, flag); i >= 0 && i+1 < len(args) {
		return args[i+1]
	}
	return ""
}

var restartPolicies = []string{"always", "unless-stopped", "on-failure"}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t)
	pg, ok := c.Services["postgres"]
	if !ok {
		t.Fatal("compose.yaml has no postgres service")
	}
	if pg.Healthcheck == nil || !slices.Contains(restartPolicies, pg.Restart) {
		t.Errorf("postgres: healthcheck %v, restart %q: want both", pg.Healthcheck, pg.Restart)
	}
	owner := pg.Environment["POSTGRES_USER"]

	// The role the servers use is made by the init script and set up by
	// the migrate service, which connects as the owner.
	src, _, _, ok := mountOf(pg, "/docker-entrypoint-initdb.d/10-eventlog-role.sql")
	if !ok {
		t.Fatal("postgres mounts no init script that creates the service's role")
	}
	initSQL := string(readDeploy(t, filepath.Base(src)))
	role := regexp.MustCompile(`CREATE ROLE (\w+) LOGIN PASSWORD '([^']*)'`).FindStringSubmatch(initSQL)
	if role == nil {
		t.Fatalf("%s creates no login role:\n%s", src, initSQL)
	}
	migrate := c.Services["migrate"]
	if len(migrate.Command) == 0 || migrate.Command[0] != "grant" || flagValue(migrate.Command, "--role") != role[1] {
		t.Errorf("migrate runs %q, want eventlog grant --role %s", migrate.Command, role[1])
	}
	if u, err := url.Parse(flagValue(migrate.Command, "--db")); err != nil || u.User.Username() != owner {
		t.Errorf("migrate connects as %v (%v), want the owner %q", u, err, owner)
	}
	if migrate.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("migrate does not wait for postgres to be healthy: %+v", migrate.DependsOn)
	}

	// The keys tool writes the file as the image's user, into the volume
	// the servers read.
	keysTool := c.Services["keys"]
	if !slices.Equal(keysTool.Entrypoint, []string{"/usr/local/bin/eventlog", "keys"}) || keysTool.User != "" {
		t.Errorf("the keys tool runs %q as %q, want eventlog keys as the image's user", keysTool.Entrypoint, keysTool.User)
	}

	dockerfile := string(readDeploy(t, "Dockerfile"))
	var servers []string
	for name, s := range c.Services {
		if composeImages[name] {
			continue
		}
		if s.Image == "" || s.Build.Dockerfile != "deploy/Dockerfile" {
			t.Errorf("%s: image %q built from %q, want the image of deploy/Dockerfile", name, s.Image, s.Build.Dockerfile)
		}
		if !strings.Contains(dockerfile, "-t "+s.Image+" ") {
			t.Errorf("%s: image %q is not the name deploy/Dockerfile says to build", name, s.Image)
		}
		// A pinned release, stamped into the binary as its version.
		if _, tag, _ := strings.Cut(s.Image, ":"); tag == "" || tag == "latest" {
			t.Errorf("%s: image %q, want a pinned release tag, not latest", name, s.Image)
		} else if s.Build.Args["VERSION"] != tag {
			t.Errorf("%s: built with VERSION %q, want the image's tag %q", name, s.Build.Args["VERSION"], tag)
		}
		if len(s.Command) > 0 && s.Command[0] == "serve" {
			servers = append(servers, name)
		}
	}
	slices.Sort(servers)
	if !slices.Equal(servers, []string{"eventlog-1", "eventlog-2"}) {
		t.Fatalf("servers %q, want eventlog-1 and eventlog-2", servers)
	}
	for _, name := range servers {
		s := c.Services[name]
		if !slices.Contains(restartPolicies, s.Restart) {
			t.Errorf("%s: restart %q, want one of %q", name, s.Restart, restartPolicies)
		}
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 || !slices.Equal(s.Healthcheck.Test[:3], []string{"CMD", "/usr/local/bin/eventlog", "health"}) {
			t.Errorf("%s: healthcheck %+v, want eventlog health (the image has no shell)", name, s.Healthcheck)
		}
		if s.DependsOn["migrate"].Condition != "service_completed_successfully" {
			t.Errorf("%s: does not wait for the migration: %+v", name, s.DependsOn)
		}
		db, err := url.Parse(s.Environment["EVENTLOG_DB"])
		if err != nil {
			t.Fatalf("%s: EVENTLOG_DB: %v", name, err)
		}
		if pw, _ := db.User.Password(); db.User.Username() != role[1] || pw != role[2] || db.User.Username() == owner {
			t.Errorf("%s connects as %q, want the role %q that %s creates, not the owner %q", name, db.User.Username(), role[1], src, owner)
		}
		keys := s.Environment["EVENTLOG_KEYS"]
		vol, target, ro, ok := mountOf(s, keys)
		if !ok || c.Volumes == nil || !ro {
			t.Errorf("%s: EVENTLOG_KEYS %q is on no read-only mount", name, keys)
		} else if _, named := c.Volumes[vol]; !named {
			t.Errorf("%s: the keys file comes from %q, want a named volume written by the image's user (a host file of keys new is 0600)", name, vol)
		}
		if toolVol, toolTarget, toolRO, _ := mountOf(keysTool, keys); toolVol != vol || toolTarget != target || toolRO {
			t.Errorf("the keys tool mounts %q at %q (read-only %v), want %s's %q writable at %q", toolVol, toolTarget, toolRO, name, vol, target)
		}
		if !strings.Contains(dockerfile, "--chown=65532:65532 /out/keys.d "+target+"\n") {
			t.Errorf("deploy/Dockerfile does not make %s for the image's user, so the volume would not be writable by it", target)
		}
		rules := s.Environment["EVENTLOG_RULES"]
		if rsrc, _, _, ok := mountOf(s, rules); !ok || rsrc != "./rules.cradle.yaml" {
			t.Errorf("%s: EVENTLOG_RULES %q comes from %q, want ./rules.cradle.yaml", name, rules, rsrc)
		}
	}
}

// The health check of the compose file works against a running server.
func TestComposeHealthcheckRuns(t *testing.T) {
	s := loadCompose(t).Services["eventlog-1"]
	if s.Healthcheck == nil || len(s.Healthcheck.Test) < 3 {
		t.Fatalf("eventlog-1 has no healthcheck")
	}
	ts := startServer(t, filepath.Join(t.TempDir(), "log.db"))
	args := slices.Clone(s.Healthcheck.Test[2:])
	if i := slices.Index(args, "--server"); i >= 0 {
		args[i+1] = ts.addr // the container's 127.0.0.1:50051
	}
	if out, err := cli(t, nil, args...); err != nil || out != "SERVING\n" {
		t.Errorf("eventlog %q = %v, %q", args, err, out)
	}
}

type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Template podTemplate `yaml:"template"`

		// A CronJob's.
		Schedule                string `yaml:"schedule"`
		ConcurrencyPolicy       string `yaml:"concurrencyPolicy"`
		StartingDeadlineSeconds *int64 `yaml:"startingDeadlineSeconds"`
		JobTemplate             struct {
			Spec struct {
				BackoffLimit          *int32      `yaml:"backoffLimit"`
				ActiveDeadlineSeconds *int64      `yaml:"activeDeadlineSeconds"`
				Template              podTemplate `yaml:"template"`
			} `yaml:"spec"`
		} `yaml:"jobTemplate"`
	} `yaml:"spec"`
}

type podTemplate struct {
	Metadata struct {
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec podSpec `yaml:"spec"`
}

// pod returns the template of the pods that o runs (for a CronJob, those
// of its Jobs), or nil when o runs none.
func (o *k8sObject) pod() *podTemplate {
	switch o.Kind {
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		return &o.Spec.Template
	case "CronJob":
		return &o.Spec.JobTemplate.Spec.Template
	}
	return nil
}

type podSpec struct {
	RestartPolicy   string `yaml:"restartPolicy"`
	SecurityContext struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      int64 `yaml:"runAsUser"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []k8sContainer `yaml:"containers"`
	Volumes    []struct {
		Name      string `yaml:"name"`
		Projected *struct {
			Sources []struct {
				Secret    *k8sSource `yaml:"secret"`
				ConfigMap *k8sSource `yaml:"configMap"`
			} `yaml:"sources"`
		} `yaml:"projected"`
		Secret    *struct{ SecretName string } `yaml:"secret"`
		ConfigMap *k8sSource                   `yaml:"configMap"`
	} `yaml:"volumes"`
}

type k8sSource struct {
	Name  string `yaml:"name"`
	Items []struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	} `yaml:"items"`
}

type k8sContainer struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	ReadinessProbe any `yaml:"readinessProbe"`
	LivenessProbe  any `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

func (c k8sContainer) env(name string) (value, secret string) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				return "", e.ValueFrom.SecretKeyRef.Name
			}
			return e.Value, ""
		}
	}
	return "", ""
}

func loadK8s(t *testing.T) map[string]k8sObject {
	t.Helper()
	objs := map[string]k8sObject{}
	dec := yaml.NewDecoder(bytes.NewReader(readDeploy(t, "kubernetes/eventlog.yaml")))
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("kubernetes/eventlog.yaml: %v", err)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
}

// checkPod checks the pods of the workload name: the securityContext that
// Pod Security "restricted" requires, as the image's user; the image that
// compose.yaml and deploy/Dockerfile build; resource requests and a memory
// limit.
func checkPod(t *testing.T, name string, pod podSpec, image string) {
	t.Helper()
	if len(pod.Containers) == 0 {
		t.Errorf("%s: no containers", name)
	}
	sc := pod.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser != 65532 || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("%s: pod securityContext %+v, want runAsNonRoot, the image's user 65532 and seccompProfile RuntimeDefault (Pod Security \"restricted\")", name, sc)
	}
	for _, c := range pod.Containers {
		csc := c.SecurityContext
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || !slices.Equal(csc.Capabilities.Drop, []string{"ALL"}) ||
			csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Errorf("%s: container %s securityContext %+v, want no privilege escalation, every capability dropped, a read-only root", name, c.Name, csc)
		}
		if c.Image != image {
			t.Errorf("%s: container %s runs %q, want %q, the image compose.yaml and deploy/Dockerfile build", name, c.Name, c.Image, image)
		}
		r := c.Resources
		if r.Requests["cpu"] == "" || r.Requests["memory"] == "" || r.Limits["memory"] == "" {
			t.Errorf("%s: container %s resources %+v, want cpu and memory requests and a memory limit", name, c.Name, r)
		}
	}
}

func TestKubernetesManifest(t *testing.T) {
	objs := loadK8s(t)
	image := loadCompose(t).Services["eventlog-1"].Image
	deploy, ok := objs["Deployment/eventlog"]
	if !ok {
		t.Fatalf("no Deployment eventlog among %v", slices.Collect(maps.Keys(objs)))
	}
	job, ok := objs["Job/eventlog-migrate"]
	if !ok {
		t.Fatal("no migration Job: the servers' role cannot migrate the schema")
	}
	// Every workload's pods, not only these two, are admitted by Pod
	// Security "restricted" and run the one image.
	for name, o := range objs {
		if tmpl := o.pod(); tmpl != nil {
			checkPod(t, name, tmpl.Spec, image)
		}
	}

	jc := job.Spec.Template.Spec.Containers
	if len(jc) != 1 || len(jc[0].Args) == 0 || jc[0].Args[0] != "grant" || flagValue(jc[0].Args, "--role") == "" {
		t.Fatalf("the Job runs %+v, want eventlog grant --role ROLE", jc)
	}
	if p := job.Spec.Template.Spec.RestartPolicy; p != "OnFailure" && p != "Never" {
		t.Errorf("the Job's restartPolicy is %q", p)
	}
	dbVar := strings.TrimSuffix(strings.TrimPrefix(flagValue(jc[0].Args, "--db"), "$("), ")")
	_, ownerSecret := jc[0].env(dbVar)

	if len(deploy.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(deploy.Spec.Template.Spec.Containers))
	}
	c := deploy.Spec.Template.Spec.Containers[0]
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("the server has no readiness or liveness probe")
	}
	if _, appSecret := c.env("EVENTLOG_DB"); appSecret == "" || ownerSecret == "" || appSecret == ownerSecret {
		t.Errorf("the servers read EVENTLOG_DB from secret %q and the Job from %q: want two, the service's role and the owner", appSecret, ownerSecret)
	}

	// The keys file and the rules come from a Secret and the ConfigMap,
	// mounted whole (a subPath mount is never updated), where the
	// environment points.
	files := map[string]string{} // path in the container -> "secret NAME" or "configMap NAME"
	for _, m := range c.VolumeMounts {
		if m.SubPath != "" {
			t.Errorf("mount %s uses subPath: the kubelet would never update it", m.Name)
		}
		for _, v := range deploy.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || v.Projected == nil {
				continue
			}
			for _, src := range v.Projected.Sources {
				for kind, s := range map[string]*k8sSource{"secret": src.Secret, "configMap": src.ConfigMap} {
					if s == nil {
						continue
					}
					for _, it := range s.Items {
						files[path.Join(m.MountPath, it.Path)] = kind + " " + s.Name + " " + it.Key
					}
				}
			}
		}
	}
	keys, _ := c.env("EVENTLOG_KEYS")
	if !strings.HasPrefix(files[keys], "secret eventlog-keys keys") {
		t.Errorf("EVENTLOG_KEYS %q is %q, want the Secret eventlog-keys (mounted files: %v)", keys, files[keys], files)
	}
	rules, _ := c.env("EVENTLOG_RULES")
	cm, ok := objs["ConfigMap/eventlog-rules"]
	if files[rules] != "configMap eventlog-rules rules.yaml" || !ok {
		t.Fatalf("EVENTLOG_RULES %q is %q, want the ConfigMap eventlog-rules (mounted files: %v)", rules, files[rules], files)
	}
	if want := string(readDeploy(t, "rules.cradle.yaml")); cm.Data["rules.yaml"] != want {
		t.Errorf("the ConfigMap's rules.yaml differs from deploy/rules.cradle.yaml:\n%s", cm.Data["rules.yaml"])
	}
}
