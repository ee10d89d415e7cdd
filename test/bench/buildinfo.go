package main

import "runtime/debug"

func buildVersions() map[string]string {
	out := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			out[d.Path] = d.Version
		}
	}
	return out
}
