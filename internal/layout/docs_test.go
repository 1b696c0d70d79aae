package layout

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeMaxLines keeps the README a page a newcomer reads in minutes; the
// reference lives in docs/.
const readmeMaxLines = 150

// TestReadmeShort holds the README to its size.
func TestReadmeShort(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > readmeMaxLines {
		t.Errorf("README.md has %d lines; want at most %d: move reference text to docs/", n, readmeMaxLines)
	}
}

// mdLink matches an inline Markdown link's target: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocLinks checks every relative link of every Markdown file git
// tracks: the file it names exists and, with a #fragment, the file has a
// heading of that anchor (GitHub's rule: lower case, punctuation dropped,
// spaces to hyphens).
func TestDocLinks(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "-co", "--exclude-standard", "*.md").Output()
	if err != nil {
		t.Fatalf("listing Markdown files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 5 {
		t.Fatalf("git ls-files found %d Markdown files: %v", len(files), files)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		b, err := os.ReadFile(filepath.Join("../..", path))
		if err != nil {
			return nil
		}
		anchors[path] = headingAnchors(string(b))
		return anchors[path]
	}
	links := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				path, frag, _ := strings.Cut(target, "#")
				if path == "" {
					path = f
				} else {
					path = filepath.Clean(filepath.Join(filepath.Dir(f), path))
				}
				if _, err := os.Stat(filepath.Join("../..", path)); err != nil {
					t.Errorf("%s:%d: link %q: %s does not exist", f, i+1, target, path)
					continue
				}
				if frag != "" && strings.HasSuffix(path, ".md") && !anchorsOf(path)[frag] {
					t.Errorf("%s:%d: link %q: %s has no heading #%s", f, i+1, target, path, frag)
				}
			}
		}
	}
	if links < 10 {
		t.Errorf("found %d relative links in %d files; the README alone links to docs/", links, len(files))
	}
}

// headingAnchors returns the anchors GitHub gives a Markdown file's headings.
func headingAnchors(md string) map[string]bool {
	a := map[string]bool{}
	code := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			code = !code
		}
		if code || !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var s strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				s.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
				s.WriteRune(r)
			}
		}
		base, id := s.String(), s.String()
		for n := 1; a[id]; n++ {
			id = base + "-" + string(rune('0'+n))
		}
		a[id] = true
	}
	return a
}
