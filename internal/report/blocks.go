package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/netcost/netcost/internal/safetext"
)

// Block Kit limits for messages (docs.slack.dev/reference/block-kit).
const (
	MaxBlocks        = 50   // blocks in a message
	MaxText          = 3000 // characters in a section's or a context element's text
	MaxFieldText     = 2000 // characters in one of a section's fields
	MaxFields        = 10   // fields in a section
	MaxHeaderText    = 150  // characters in a header
	MaxContextElems  = 10   // elements in a context block
	ellipsis         = "…"
	mrkdwn           = "mrkdwn"
	plainText        = "plain_text"
	blockHeader      = "header"
	blockSection     = "section"
	blockContext     = "context"
	blockDivider     = "divider"
	codeFence        = "```"
	moreBlocksFormat = "…and %d more sections: run netcost report --dry-run for the whole report"
)

// Message is what an incoming webhook accepts: Text is the notification's
// fallback, Blocks the message.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks"`
}

// Block is a header, section, context or divider block.
type Block struct {
	Type     string `json:"type"`
	Text     *Text  `json:"text,omitempty"`
	Fields   []Text `json:"fields,omitempty"`
	Elements []Text `json:"elements,omitempty"`
}

// Text is a text object.
type Text struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// JSON encodes m as a webhook takes it, indented for people when indent is
// set. &, < and > stay as they are: mrkdwn text carries them escaped already.
// Bidi and C1 controls, which encoding/json leaves raw, are escaped
// (safetext.JSON) for the terminal that shows a --dry-run.
func (m Message) JSON(indent bool) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding the Slack message: %w", err)
	}
	return safetext.JSON(b.Bytes()), nil
}

func header(s string) Block { return Block{Type: blockHeader, Text: &Text{Type: plainText, Text: s}} }
func section(s string, fields ...string) Block {
	b := Block{Type: blockSection}
	if s != "" {
		b.Text = &Text{Type: mrkdwn, Text: s}
	}
	for _, f := range fields {
		b.Fields = append(b.Fields, Text{Type: mrkdwn, Text: f})
	}
	return b
}
func contextBlock(s ...string) Block {
	b := Block{Type: blockContext}
	for _, e := range s {
		b.Elements = append(b.Elements, Text{Type: mrkdwn, Text: e})
	}
	return b
}
func divider() Block { return Block{Type: blockDivider} }

// escape makes text from outside (names from records, the source, a
// command built from them) literal in a text object: control and bidi
// characters become visible escapes (safetext), so no name adds a line or
// turns text around, and &, < and >, which Slack reads as control
// characters everywhere, code blocks included, become entities, so a pod
// named <!channel> notifies nobody. A header's plain_text gets the same.
func escape(s string) string {
	return entities.Replace(safetext.Escape(s))
}

var entities = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escapeLines is escape for text whose lines are meant: a command of
// several lines.
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escape(l)
	}
	return strings.Join(lines, "\n")
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// cut shortens s to at most max characters, ending in an ellipsis, without
// splitting an escaped entity (&amp;) and keeping a code block closed.
func cut(s string, limit int) string {
	if runes(s) <= limit {
		return s
	}
	suffix := ellipsis
	if strings.Contains(s, codeFence) {
		suffix += codeFence // room to close a fence the cut leaves open
	}
	out := string([]rune(s)[:max(0, limit-runes(suffix))])
	if amp := strings.LastIndexByte(out, '&'); amp >= 0 && !strings.Contains(out[amp:], ";") {
		out = out[:amp]
	}
	if strings.Count(out, codeFence)%2 == 1 {
		return out + suffix
	}
	return out + ellipsis
}

// fitLines keeps the whole lines of s that fit in max characters and says
// how many it left out; a first line that alone is too long is cut.
func fitLines(s string, limit int) string {
	if runes(s) <= limit {
		return s
	}
	lines := strings.Split(s, "\n")
	for keep := len(lines) - 1; keep > 0; keep-- {
		out := strings.Join(lines[:keep], "\n")
		if strings.Count(out, codeFence)%2 == 1 {
			continue // never end inside a code block
		}
		out += "\n" + fmt.Sprintf("…and %d more lines", len(lines)-keep)
		if runes(out) <= limit {
			return out
		}
	}
	return cut(s, limit)
}

// fit makes a message obey Block Kit's limits: long texts are cut with an
// ellipsis or lose their last lines ("…and N more lines"), extra fields and
// context elements fold into a last one that says how many more there were,
// and blocks beyond MaxBlocks are replaced by one that says how many.
func fit(m Message) Message {
	blocks := make([]Block, 0, min(len(m.Blocks), MaxBlocks))
	for i, b := range m.Blocks {
		if len(blocks) == MaxBlocks-1 && len(m.Blocks)-i > 1 {
			blocks = append(blocks, contextBlock(fmt.Sprintf(moreBlocksFormat, len(m.Blocks)-i)))
			break
		}
		blocks = append(blocks, fitBlock(b))
	}
	m.Blocks = blocks
	return m
}

func fitBlock(b Block) Block {
	if b.Text != nil {
		t := *b.Text
		switch {
		case b.Type == blockHeader:
			t.Text = cut(t.Text, MaxHeaderText)
		default:
			t.Text = fitLines(t.Text, MaxText)
		}
		b.Text = &t
	}
	b.Fields = fitTexts(b.Fields, MaxFields, MaxFieldText, "fields")
	b.Elements = fitTexts(b.Elements, MaxContextElems, MaxText, "items")
	return b
}

func fitTexts(ts []Text, maxN, maxLen int, what string) []Text {
	if ts == nil {
		return nil
	}
	out := make([]Text, 0, min(len(ts), maxN))
	for i, t := range ts {
		if len(out) == maxN-1 && len(ts)-i > 1 {
			out = append(out, Text{Type: mrkdwn, Text: fmt.Sprintf("…and %d more %s", len(ts)-i, what)})
			break
		}
		t.Text = fitLines(t.Text, maxLen)
		out = append(out, t)
	}
	return out
}

// Check reports the first way m breaks Block Kit's limits, or nil.
func Check(m Message) error {
	if len(m.Blocks) == 0 || len(m.Blocks) > MaxBlocks {
		return fmt.Errorf("%d blocks: Slack takes 1 to %d", len(m.Blocks), MaxBlocks)
	}
	for i, b := range m.Blocks {
		limit := MaxText
		switch b.Type {
		case blockHeader:
			limit = MaxHeaderText
			if b.Text == nil || b.Text.Type != plainText {
				return fmt.Errorf("block %d: a header needs plain_text", i)
			}
		case blockSection:
			if b.Text == nil && len(b.Fields) == 0 {
				return fmt.Errorf("block %d: a section needs text or fields", i)
			}
		case blockContext:
			if len(b.Elements) == 0 || len(b.Elements) > MaxContextElems {
				return fmt.Errorf("block %d: %d context elements: Slack takes 1 to %d", i, len(b.Elements), MaxContextElems)
			}
		case blockDivider:
		default:
			return fmt.Errorf("block %d: unknown type %q", i, b.Type)
		}
		if b.Text != nil && (runes(b.Text.Text) > limit || b.Text.Text == "") {
			return fmt.Errorf("block %d: text of %d characters: Slack takes 1 to %d", i, runes(b.Text.Text), limit)
		}
		if len(b.Fields) > MaxFields {
			return fmt.Errorf("block %d: %d fields: Slack takes at most %d", i, len(b.Fields), MaxFields)
		}
		for j, f := range b.Fields {
			if n := runes(f.Text); n == 0 || n > MaxFieldText {
				return fmt.Errorf("block %d field %d: %d characters: Slack takes 1 to %d", i, j, n, MaxFieldText)
			}
		}
		for j, e := range b.Elements {
			if n := runes(e.Text); n == 0 || n > MaxText {
				return fmt.Errorf("block %d element %d: %d characters: Slack takes 1 to %d", i, j, n, MaxText)
			}
		}
	}
	return nil
}
