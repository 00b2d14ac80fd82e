package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The retention jobs of deploy/, which run "eventlog prune".

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
