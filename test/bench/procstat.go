package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ; it is 100 on every Linux we run on.
const clkTck = 100

// procTimes reads utime, stime, cutime and cstime of a process, in seconds,
// and its parent pid.
func procTimes(pid int) (self, children float64, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	// The command name is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is state (field 3); utime is field 14 → f[11].
	num := func(k int) float64 { v, _ := strconv.ParseFloat(f[k], 64); return v }
	ppid, _ = strconv.Atoi(f[1])
	return (num(11) + num(12)) / clkTck, (num(13) + num(14)) / clkTck, ppid, nil
}

// peakRSS is VmHWM of a process, in bytes.
func peakRSS(pid int) int64 { return procStatusKB(pid, "VmHWM:") * 1024 }

// procStatusKB reads one "Key: N kB" line of /proc/PID/status; 0 if absent.
func procStatusKB(pid int, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// processCPU is the CPU seconds a live process used so far.
func processCPU(pid int) float64 {
	self, _, _, err := procTimes(pid)
	if err != nil {
		return 0
	}
	return self
}

// postgresCPU is the CPU seconds the whole PostgreSQL server used so far:
// the postmaster, its live children, and (through the postmaster's cutime
// and cstime) every child it already reaped, such as finished backends.
func postgresCPU(dataDir string) float64 {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0
	}
	self, reaped, _, err := procTimes(pm)
	if err != nil {
		return 0
	}
	total := self + reaped
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == pm {
			continue
		}
		s, _, ppid, err := procTimes(pid)
		if err == nil && ppid == pm {
			total += s
		}
	}
	return total
}

// cpuMeter measures a contender process plus the PostgreSQL server.
type cpuMeter struct {
	pid        int
	others     []int // helper processes whose CPU counts with the contender's
	dataDir    string
	proc0, pg0 float64
	start      time.Time
}

func startMeter(pid int, dataDir string, others ...int) *cpuMeter {
	m := &cpuMeter{pid: pid, others: others, dataDir: dataDir, pg0: postgresCPU(dataDir), start: time.Now()}
	if pid > 0 {
		m.proc0 = processCPU(pid)
	}
	for _, o := range others {
		m.proc0 += processCPU(o)
	}
	return m
}

// stop returns the CPU seconds of the process (with its helpers) and of
// PostgreSQL since start, and the process's peak RSS.
func (m *cpuMeter) stop() (proc, pg float64, rss int64) {
	if m.pid > 0 {
		proc = processCPU(m.pid)
		rss = peakRSS(m.pid)
	}
	for _, o := range m.others {
		proc += processCPU(o)
	}
	proc -= m.proc0
	return proc, postgresCPU(m.dataDir) - m.pg0, rss
}
