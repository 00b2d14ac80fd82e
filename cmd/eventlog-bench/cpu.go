package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/jmoiron/sqlx"
)

// cpuTimes is processor time, in seconds, used by the parts of a
// measurement: the server under test, this process (the load generator)
// and the processes of the PostgreSQL server measured.
type cpuTimes struct {
	Server, Client, Postgres float64
	// Backends is the part of Postgres spent by the backends serving the
	// measured database and by the WAL writer, which flushes their
	// commits: without autovacuum, checkpoints and other databases'
	// work. 0 when not measured.
	Backends float64
}

var cpuPartNames = [3]string{"server", "load generator", "PostgreSQL"}

func (c cpuTimes) parts() [3]float64 { return [3]float64{c.Server, c.Client, c.Postgres} }

func (c cpuTimes) sub(d cpuTimes) cpuTimes {
	return cpuTimes{c.Server - d.Server, c.Client - d.Client, c.Postgres - d.Postgres, c.Backends - d.Backends}
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ), 100 on
// every Linux platform Go runs on.
const clockTicks = 100

// cpuTimes reads the CPU time used so far by the server, this process and
// PostgreSQL's processes: those of the server the bench uses when its
// postmaster is known (see postmasterPID), otherwise every process named
// postgres on the machine.
func (p *serverProc) cpuTimes() cpuTimes {
	var c cpuTimes
	c.Server = procCPU(strconv.Itoa(p.cmd.Process.Pid))
	c.Client = selfCPU()
	c.Postgres = postgresCPU(p.postmaster)
	if p.backends != nil {
		c.Backends = p.backends()
	}
	return c
}

// backendsCPU returns a function that reads the CPU time used so far by
// the backends connected to database db and by the WAL writer, from
// pg_stat_activity through admin; 0 when it cannot be read. A backend that
// ends within a measured window takes its time with it: the connections
// measured stay open.
func backendsCPU(admin *sqlx.DB, db string) func() float64 {
	return func() float64 {
		var pids []int
		err := admin.Select(&pids, `SELECT pid FROM pg_stat_activity
			WHERE (datname = $1 AND backend_type = 'client backend') OR backend_type = 'walwriter'`, db)
		if err != nil {
			return 0
		}
		var sum float64
		for _, pid := range pids {
			sum += procCPU(strconv.Itoa(pid))
		}
		return sum
	}
}

// selfCPU returns the CPU time this process used so far, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// postgresCPU returns the CPU time used so far by the postmaster and its
// children (the backends and background processes), or by every process
// named postgres when postmaster is 0.
func postgresCPU(postmaster int) float64 {
	var sum float64
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	pm := strconv.Itoa(postmaster)
	for _, d := range dirs {
		pid := filepath.Base(d)
		comm, ppid, cpu, ok := procStat(pid)
		if !ok || comm != "postgres" {
			continue
		}
		if postmaster == 0 || pid == pm || ppid == pm {
			sum += cpu
		}
	}
	if postmaster != 0 {
		// The children that ended (connections closed, autovacuum
		// workers done) are in the postmaster's time of its waited-for
		// children: without it, a process ending within a measured
		// window would take its earlier time off the window.
		sum += childrenCPU(pm)
	}
	return sum
}

// childrenCPU returns the user and system time of the ended children
// that process pid has waited for, in seconds.
func childrenCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: ... cutime(16) cstime(17), 1-based.
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[13], 64)
	s, _ := strconv.ParseFloat(f[14], 64)
	return (u + s) / clockTicks
}

// postmasterPID returns the process id of the PostgreSQL server db is
// connected to, from the postmaster.pid file of its data directory; 0 when
// that cannot be read (a server on another machine, or no permission).
func postmasterPID(ctx context.Context, db *sqlx.DB) int {
	var dir string
	if err := db.GetContext(ctx, &dir, `SELECT current_setting('data_directory')`); err != nil {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	pid, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0
	}
	if comm, _, _, ok := procStat(strconv.Itoa(pid)); !ok || comm != "postgres" {
		return 0 // another machine's process id, or a stale file
	}
	return pid
}

// procCPU returns the user and system time of process pid, in seconds; 0
// when it cannot be read (the process has ended).
func procCPU(pid string) float64 {
	_, _, cpu, _ := procStat(pid)
	return cpu
}

// procStat reads /proc/PID/stat: the command name, the parent's process
// id, and the user and system time in seconds; ok is false when it cannot
// be read (the process has ended).
func procStat(pid string) (comm, ppid string, cpu float64, ok bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", "", 0, false
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis.
	open, i := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || i < open {
		return "", "", 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ppid(4) ... utime(14) stime(15), 1-based.
	if len(f) < 13 {
		return "", "", 0, false
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return string(b[open+1 : i]), f[1], (u + s) / clockTicks, true
}
