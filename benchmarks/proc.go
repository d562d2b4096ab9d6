package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is the kernel's USER_HZ, the unit of utime and stime in
// /proc/PID/stat; 100 on every Linux this runs on.
const clockTicks = 100

// procSample is a process's CPU time, resident memory and system-call and
// context-switch counts at one moment.
type procSample struct {
	cpuSeconds float64 // user + system
	rssBytes   int64
	// reads and writes are the read and write system calls so far
	// (/proc/PID/io syscr, syscw); switches the context switches of its
	// live threads, voluntary or not: each voluntary one is a thread
	// going to sleep, to be woken again.
	reads, writes, switches int64
}

// sampleProc reads /proc/PID/stat, status, io and task/*/status.
func sampleProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// Fields after the command name (which may hold spaces) start after ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseFloat(f[11], 64) // field 14 overall
	stime, _ := strconv.ParseFloat(f[12], 64) // field 15 overall
	out := procSample{cpuSeconds: (utime + stime) / clockTicks}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, err
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			out.rssBytes = kb * 1024
		}
	}
	if io, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		out.reads = procField(string(io), "syscr:")
		out.writes = procField(string(io), "syscw:")
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	for _, t := range tasks {
		if st, err := os.ReadFile(t); err == nil {
			out.switches += procField(string(st), "voluntary_ctxt_switches:") + procField(string(st), "nonvoluntary_ctxt_switches:")
		}
	}
	return out, nil
}

// procField is the integer after the line prefix key in a /proc file.
func procField(text, key string) int64 {
	for line := range strings.SplitSeq(text, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
			return n
		}
	}
	return 0
}
