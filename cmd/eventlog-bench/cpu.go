package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// cpuTimes is processor time, in seconds, used by the parts of a
// measurement: the server under test, this process (the load generator)
// and every PostgreSQL process on the machine.
type cpuTimes struct {
	Server, Client, Postgres float64
}

var cpuPartNames = [3]string{"server", "load generator", "PostgreSQL"}

func (c cpuTimes) parts() [3]float64 { return [3]float64{c.Server, c.Client, c.Postgres} }

func (c cpuTimes) sub(d cpuTimes) cpuTimes {
	return cpuTimes{c.Server - d.Server, c.Client - d.Client, c.Postgres - d.Postgres}
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ), 100 on
// every Linux platform Go runs on.
const clockTicks = 100

// cpuTimes reads the CPU time used so far by the server, this process and
// PostgreSQL's processes.
func (p *serverProc) cpuTimes() cpuTimes {
	var c cpuTimes
	c.Server = procCPU(strconv.Itoa(p.cmd.Process.Pid))
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		c.Client = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		if comm, err := os.ReadFile(d + "/comm"); err == nil && string(bytes.TrimSpace(comm)) == "postgres" {
			c.Postgres += procCPU(filepath.Base(d))
		}
	}
	return c
}

// procCPU returns the user and system time of process pid, in seconds; 0
// when it cannot be read (the process has ended).
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	// After the name: state(3) ... utime(14) stime(15), 1-based.
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks
}
