package main

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	eventlogv1 "github.com/eventlog/eventlog/proto/eventlog/v1"
)

// The retention jobs of deploy/: the Kubernetes CronJob and the compose
// tool that run "eventlog prune".

// parseRetention reads a --keep value as prune takes it: a Go duration
// (2160h) or a whole number of days (90d).
func parseRetention(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"400d", 400 * 24 * time.Hour},
		{"2160h", 90 * 24 * time.Hour},
		{"90m", 90 * time.Minute},
	} {
		if got, err := parseRetention(tc.in); err != nil || got != tc.want {
			t.Errorf("parseRetention(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "90 days"} {
		if got, err := parseRetention(in); err == nil {
			t.Errorf("parseRetention(%q) = %v, want an error", in, got)
		}
	}
}

// show prints what p points to, or that it is unset.
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// checkPruneArgs checks the arguments that where passes to eventlog:
// prune, with one cutoff (--keep of at least a day, or --before), not a
// dry run (a scheduled run that removes nothing would go unnoticed), and a
// --db. It returns the --db value.
func checkPruneArgs(t *testing.T, where string, args []string) string {
	t.Helper()
	if len(args) == 0 || args[0] != "prune" {
		t.Fatalf("%s runs eventlog %q, want eventlog prune", where, args)
	}
	keep, before := flagValue(args, "--keep"), flagValue(args, "--before")
	switch {
	case (keep == "") == (before == ""):
		t.Errorf("%s: prune %q, want one of --keep and --before", where, args)
	case keep != "":
		if d, err := parseRetention(keep); err != nil || d < 24*time.Hour {
			t.Errorf("%s: --keep %q (%v, %v), want a retention period of a day or more, as a Go duration or in days", where, keep, d, err)
		}
	}
	if slices.Contains(args, "--dry-run") {
		t.Errorf("%s: prune %q is a dry run: it would never remove anything", where, args)
	}
	db := flagValue(args, "--db")
	if db == "" {
		t.Errorf("%s: prune %q has no --db", where, args)
	}
	return db
}

// TestKubernetesPruneCronJob checks the CronJob that prunes: daily, never
// two runs at once, a missed run skipped rather than started late into the
// next day's, a bounded run, as the database's owner from the Secret the
// migration Job reads, in pods that no Service or PodDisruptionBudget of
// the servers selects.
func TestKubernetesPruneCronJob(t *testing.T) {
	objs := loadK8s(t)
	image := loadCompose(t).Services["eventlog-1"].Image
	cj, ok := objs["CronJob/eventlog-prune"]
	if !ok {
		t.Fatal("no CronJob eventlog-prune")
	}
	const day = 24 * 60 * 60

	f := strings.Fields(cj.Spec.Schedule)
	isNumber := func(s string) bool { _, err := strconv.Atoi(s); return err == nil }
	if len(f) != 5 || !isNumber(f[0]) || !isNumber(f[1]) || !slices.Equal(f[2:], []string{"*", "*", "*"}) {
		t.Errorf("schedule %q, want daily at a fixed time (M H * * *)", cj.Spec.Schedule)
	}
	if cj.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	// The controller looks every 10 seconds; a deadline of a day or more
	// would start a missed run when the next is due.
	if d := cj.Spec.StartingDeadlineSeconds; d == nil || *d < 10 || *d >= day {
		t.Errorf("startingDeadlineSeconds %s, want from 10 s to less than a day", show(d))
	}
	jt := cj.Spec.JobTemplate.Spec
	if jt.BackoffLimit == nil || *jt.BackoffLimit < 0 {
		t.Errorf("the Jobs' backoffLimit %s, want one set", show(jt.BackoffLimit))
	}
	// With Forbid, a run that never ends would hold off every later one.
	if d := jt.ActiveDeadlineSeconds; d == nil || *d <= 0 || *d >= day {
		t.Errorf("the Jobs' activeDeadlineSeconds %s, want less than a day", show(d))
	}

	pod := jt.Template
	if p := pod.Spec.RestartPolicy; p != "OnFailure" && p != "Never" {
		t.Errorf("the Jobs' restartPolicy is %q, want OnFailure or Never", p)
	}
	checkPod(t, "CronJob/eventlog-prune", pod.Spec, image)
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("the CronJob's pods have %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	db := checkPruneArgs(t, "the CronJob", c.Args)
	dbVar, ok := strings.CutPrefix(db, "$(")
	dbVar, closed := strings.CutSuffix(dbVar, ")")
	if !ok || !closed {
		t.Fatalf("the CronJob's --db is %q, want $(VARIABLE) from a Secret, not a DSN in the manifest", db)
	}
	_, secret := c.env(dbVar)

	// The owner: the Secret that the migration Job reads, not the servers'.
	job := objs["Job/eventlog-migrate"].Spec.Template.Spec.Containers
	if len(job) != 1 {
		t.Fatalf("the migration Job has %d containers, want 1", len(job))
	}
	jobVar := strings.TrimSuffix(strings.TrimPrefix(flagValue(job[0].Args, "--db"), "$("), ")")
	_, ownerSecret := job[0].env(jobVar)
	if secret == "" || secret != ownerSecret {
		t.Errorf("the CronJob reads %s from secret %q, want the owner's %q, which the migration Job reads", dbVar, secret, ownerSecret)
	}
	servers := objs["Deployment/eventlog"].Spec.Template
	if len(servers.Spec.Containers) == 1 {
		if _, appSecret := servers.Spec.Containers[0].env("EVENTLOG_DB"); appSecret == secret {
			t.Errorf("the CronJob connects with the servers' secret %q: their role may never delete", secret)
		}
	}

	// The servers' Service and PodDisruptionBudget select their pods by
	// these labels; a prune pod that carried them all would be sent calls
	// and counted as a server.
	carries := len(servers.Metadata.Labels) > 0
	for k, v := range servers.Metadata.Labels {
		carries = carries && pod.Metadata.Labels[k] == v
	}
	if carries {
		t.Errorf("the CronJob's pods are labelled %v, as the servers' (%v)", pod.Metadata.Labels, servers.Metadata.Labels)
	}
}

// TestComposePrune checks compose.yaml's prune tool: a one-shot in a
// profile (never started by "up", never restarted), after the migration,
// connecting as the database's owner, with the database in its entrypoint
// so that arguments given to "run" replace only the cutoff; and the file
// says how to run it.
func TestComposePrune(t *testing.T) {
	c := loadCompose(t)
	p, ok := c.Services["prune"]
	if !ok {
		t.Fatal("compose.yaml has no prune service")
	}
	if len(p.Entrypoint) < 2 || p.Entrypoint[0] != "/usr/local/bin/eventlog" {
		t.Fatalf("prune's entrypoint %q, want /usr/local/bin/eventlog prune --db ...", p.Entrypoint)
	}
	db := checkPruneArgs(t, "compose's prune", append(slices.Clone(p.Entrypoint[1:]), p.Command...))
	if flagValue(p.Entrypoint, "--db") == "" {
		t.Errorf("prune's --db is not in its entrypoint: \"run --rm prune --keep 90d\" would lose it")
	}
	pg := c.Services["postgres"].Environment
	u, err := url.Parse(db)
	if err != nil {
		t.Fatalf("prune's --db: %v", err)
	}
	if pw, _ := u.User.Password(); u.User.Username() != pg["POSTGRES_USER"] || pw != pg["POSTGRES_PASSWORD"] || u.Hostname() != "postgres" {
		t.Errorf("prune connects as %q to %q, want the owner %q on postgres", u.User.Username(), u.Host, pg["POSTGRES_USER"])
	}
	if len(p.Profiles) == 0 {
		t.Error("prune is in no profile: \"docker compose up\" would start it")
	}
	if p.Restart != "" && p.Restart != "no" {
		t.Errorf("prune's restart %q: a one-shot tool must not be restarted", p.Restart)
	}
	if p.DependsOn["migrate"].Condition != "service_completed_successfully" {
		t.Errorf("prune does not wait for the migration: %+v", p.DependsOn)
	}
	if text := string(readDeploy(t, "compose.yaml")); !strings.Contains(text, "docker compose -f deploy/compose.yaml run --rm prune\n") {
		t.Error("compose.yaml does not say how to run prune")
	}
}

// TestDeployPruneArgs runs eventlog prune with the arguments of the
// CronJob and of compose's tool, on a SQLite database in place of theirs:
// a dry run and a real one succeed, and the log still verifies.
func TestDeployPruneArgs(t *testing.T) {
	var cronArgs []string
	cj := loadK8s(t)["CronJob/eventlog-prune"]
	if cs := cj.Spec.JobTemplate.Spec.Template.Spec.Containers; len(cs) == 1 {
		cronArgs = cs[0].Args
	}
	p := loadCompose(t).Services["prune"]
	var composeArgs []string
	if len(p.Entrypoint) > 1 {
		composeArgs = append(slices.Clone(p.Entrypoint[1:]), p.Command...)
	}
	for where, args := range map[string][]string{"the CronJob": cronArgs, "compose's prune": composeArgs} {
		t.Run(where, func(t *testing.T) {
			if len(args) == 0 || args[0] != "prune" {
				t.Fatalf("%s runs eventlog %q, want eventlog prune", where, args)
			}
			db := filepath.Join(t.TempDir(), "log.db")
			ts := startServer(t, db)
			c := eventlogv1.NewEventLogServiceClient(ts.conn(t))
			for i := range 3 {
				if _, err := c.LogEvent(context.Background(), &eventlogv1.LogEventRequest{
					Event: newEvent(eventlogv1.EventType_EVENT_TYPE_CREATE, "alice", "Entry", strconv.Itoa(i)),
				}); err != nil {
					t.Fatal(err)
				}
			}
			ts.stop(t)

			args := slices.Clone(args)
			i := slices.Index(args, "--db")
			if i < 0 || i+1 == len(args) {
				t.Fatalf("%s runs eventlog %q, with no --db", where, args)
			}
			args[i+1] = db
			for _, run := range [][]string{append(slices.Clone(args), "--dry-run"), args} {
				if out, err := cli(t, nil, run...); err != nil {
					t.Fatalf("eventlog %q: %v\n%s", run, err, out)
				}
			}
			if out, err := cli(t, nil, "verify", "--db", db); err != nil {
				t.Errorf("verify after prune: %v\n%s", err, out)
			}
		})
	}
}
