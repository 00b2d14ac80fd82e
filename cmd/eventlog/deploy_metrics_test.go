package main

import (
	"bytes"
	"errors"
	"io"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sMonitored is what TestKubernetesMetricsAndDisruption reads of the
// manifest's objects.
type k8sMonitored struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas     int  `yaml:"replicas"`
		MinAvailable *int `yaml:"minAvailable"`
		Selector     struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Env []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestKubernetesMetricsAndDisruption(t *testing.T) {
	objs := map[string]k8sMonitored{}
	dec := yaml.NewDecoder(bytes.NewReader(readDeploy(t, "kubernetes/eventlog.yaml")))
	for {
		var o k8sMonitored
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("kubernetes/eventlog.yaml: %v", err)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	d := objs["Deployment/eventlog"]
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatal("the Deployment has no single container")
	}
	c := d.Spec.Template.Spec.Containers[0]

	// The pods ask to be scraped on the port where the server serves its
	// metrics.
	ann := d.Spec.Template.Metadata.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != metricsPath {
		t.Errorf("pod annotations %v, want prometheus.io/scrape \"true\" and prometheus.io/path %s", ann, metricsPath)
	}
	var metricsAddr string
	for _, e := range c.Env {
		if e.Name == "EVENTLOG_METRICS_ADDR" {
			metricsAddr = e.Value
		}
	}
	_, port, err := net.SplitHostPort(metricsAddr)
	if err != nil {
		t.Fatalf("EVENTLOG_METRICS_ADDR %q: %v", metricsAddr, err)
	}
	if ann["prometheus.io/port"] != port {
		t.Errorf("prometheus.io/port %q, want the port of EVENTLOG_METRICS_ADDR %q", ann["prometheus.io/port"], metricsAddr)
	}
	declared := false
	for _, p := range c.Ports {
		declared = declared || (p.Name == "metrics" && port == strconv.Itoa(p.ContainerPort))
	}
	if !declared {
		t.Errorf("the container declares no port \"metrics\" %s: %+v", port, c.Ports)
	}

	// Voluntary disruptions leave a server running.
	pdb, ok := objs["PodDisruptionBudget/eventlog"]
	if !ok {
		t.Fatal("no PodDisruptionBudget eventlog")
	}
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable < 1 || *pdb.Spec.MinAvailable >= d.Spec.Replicas {
		t.Errorf("PodDisruptionBudget minAvailable %v with %d replicas: want at least 1 and fewer than the replicas, so that a drain can proceed", pdb.Spec.MinAvailable, d.Spec.Replicas)
	}
	for k, v := range pdb.Spec.Selector.MatchLabels {
		if d.Spec.Template.Metadata.Labels[k] != v {
			t.Errorf("the PodDisruptionBudget selects %s=%s, which the servers' pods do not carry (%v)", k, v, d.Spec.Template.Metadata.Labels)
		}
	}
	if len(pdb.Spec.Selector.MatchLabels) == 0 {
		t.Error("the PodDisruptionBudget selects no pods")
	}
}

// promConfig is what the tests read of deploy/prometheus/prometheus.yml.
type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		Authorization struct {
			CredentialsFile string `yaml:"credentials_file"`
		} `yaml:"authorization"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
		KubernetesSDConfigs []map[string]any `yaml:"kubernetes_sd_configs"`
	} `yaml:"scrape_configs"`
}

func loadPromConfig(t *testing.T) promConfig {
	t.Helper()
	var cfg promConfig
	if err := yaml.Unmarshal(readDeploy(t, "prometheus/prometheus.yml"), &cfg); err != nil {
		t.Fatalf("prometheus/prometheus.yml: %v", err)
	}
	return cfg
}

// TestPrometheusConfig checks deploy/prometheus/prometheus.yml against
// compose.yaml and the Kubernetes manifest: it loads the alerts, scrapes
// each compose server where it serves /metrics, and sends a token.
func TestPrometheusConfig(t *testing.T) {
	cfg := loadPromConfig(t)
	if !slices.Contains(cfg.RuleFiles, "alerts.yaml") {
		t.Errorf("rule_files %q does not load alerts.yaml", cfg.RuleFiles)
	}
	compose := loadCompose(t)
	var targets []string
	k8s := false
	for _, sc := range cfg.ScrapeConfigs {
		if sc.Authorization.CredentialsFile == "" {
			t.Errorf("job %s sends no token: with keys a scrape needs one", sc.JobName)
		}
		for _, s := range sc.StaticConfigs {
			targets = append(targets, s.Targets...)
		}
		k8s = k8s || len(sc.KubernetesSDConfigs) > 0
	}
	if !k8s {
		t.Error("no job discovers the Kubernetes pods")
	}
	var want []string
	for name, s := range compose.Services {
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			continue
		}
		if s.Environment["EVENTLOG_METRICS_ADDR"] != "" {
			t.Fatalf("%s sets EVENTLOG_METRICS_ADDR; the test expects metrics on the HTTP port", name)
		}
		want = append(want, name+":8080") // the image's EVENTLOG_HTTP_ADDR port
	}
	slices.Sort(want)
	slices.Sort(targets)
	if !slices.Equal(targets, want) {
		t.Errorf("static targets %q, want the compose servers' HTTP ports %q", targets, want)
	}
}

// TestComposePrometheus checks compose.yaml's Prometheus: it runs
// deploy/prometheus/prometheus.yml with its rule files and the token its
// jobs send, all mounted read-only; the servers it scrapes are on its
// network by those names; it is reachable from this host only; and its
// image is pinned.
func TestComposePrometheus(t *testing.T) {
	c := loadCompose(t)
	p, ok := c.Services["prometheus"]
	if !ok {
		t.Fatal("compose.yaml has no prometheus service")
	}
	repo, tag, _ := strings.Cut(p.Image, ":")
	if repo != "prom/prometheus" || tag == "" || tag == "latest" {
		t.Errorf("prometheus runs %q, want prom/prometheus with a pinned tag", p.Image)
	}

	// The image's default is --config.file=/etc/prometheus/prometheus.yml.
	config := "/etc/prometheus/prometheus.yml"
	for _, arg := range p.Command {
		if v, ok := strings.CutPrefix(arg, "--config.file="); ok {
			config = v
		}
	}
	mounted := func(target, want string) {
		t.Helper()
		src, tgt, ro, ok := mountOf(p, target)
		switch {
		case !ok || tgt != target:
			t.Errorf("prometheus: nothing is mounted at %s, want %s (mounts %q)", target, want, p.Volumes)
		case path.Clean(src) != path.Clean(want):
			t.Errorf("prometheus: %s comes from %s, want %s", target, src, want)
		case !ro:
			t.Errorf("prometheus: %s is mounted writable, want read-only", target)
		}
	}
	mounted(config, "./prometheus/prometheus.yml")
	cfg := loadPromConfig(t)
	for _, f := range cfg.RuleFiles {
		// Prometheus reads rule files relative to the configuration's
		// directory.
		mounted(path.Join(path.Dir(config), f), path.Join("./prometheus", f))
	}
	var tokens []string
	for _, sc := range cfg.ScrapeConfigs {
		if len(sc.StaticConfigs) == 0 || slices.Contains(tokens, sc.Authorization.CredentialsFile) {
			continue
		}
		tokens = append(tokens, sc.Authorization.CredentialsFile)
		src, tgt, ro, ok := mountOf(p, sc.Authorization.CredentialsFile)
		if !ok || tgt != sc.Authorization.CredentialsFile || !ro || !strings.HasPrefix(src, "./") {
			t.Errorf("prometheus: job %s sends the token in %s, which is not a read-only mount of a file beside compose.yaml (mounts %q)", sc.JobName, sc.Authorization.CredentialsFile, p.Volumes)
		}
	}

	// The compose jobs' targets are the servers, by their service names
	// on the network compose makes, at the port they serve in their
	// containers (not the host's).
	for _, sc := range cfg.ScrapeConfigs {
		for _, s := range sc.StaticConfigs {
			for _, target := range s.Targets {
				host, port, err := net.SplitHostPort(target)
				srv, ok := c.Services[host]
				if err != nil || !ok || len(srv.Command) == 0 || srv.Command[0] != "serve" {
					t.Errorf("job %s scrapes %q, which names no server of compose.yaml", sc.JobName, target)
					continue
				}
				published := false
				for _, sp := range srv.Ports {
					published = published || strings.HasSuffix(sp, ":"+port)
				}
				if !published {
					t.Errorf("job %s scrapes %s, a port %s does not serve in its container (ports %q)", sc.JobName, target, host, srv.Ports)
				}
			}
		}
	}

	for _, port := range p.Ports {
		if !strings.HasPrefix(port, "127.0.0.1:") {
			t.Errorf("prometheus publishes %q, want it bound to 127.0.0.1 (it has no authentication)", port)
		}
	}
	if len(p.Profiles) == 0 {
		t.Error("prometheus is in no profile: \"up\" would start it before its token file exists")
	}
}
