//go:build !unix

package flows

import "os"

func mapFile(*os.File) []byte { return nil }

func unmapFile([]byte) {}

func dropPages([]byte) {}
