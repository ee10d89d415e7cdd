package soapenv

import "fmt"

// Shape is how one element of a request body becomes a value: text (a
// string), an object of named children (a map), or a list of repeated
// items (a []string).
type Shape struct {
	Key      string           // the key of the value in its parent's map
	Children map[string]Shape // object: child element's local name → its shape
	Item     string           // list: the local name of its items (text)
}

// Text is a text element's shape.
func Text(key string) Shape { return Shape{Key: key} }

// Object is the shape of an element of named children.
func Object(key string, ch map[string]Shape) Shape { return Shape{Key: key, Children: ch} }

// List is the shape of an element of repeated text items.
func List(key, item string) Shape { return Shape{Key: key, Item: item} }

// Convert turns an element of object shape into a map: each child element,
// in namespace ns, becomes the value of its shape's key. It checks the form
// only — every element known, in ns, given once, text where text belongs,
// no attributes — and leaves the values to the caller: an element left out
// is a key left out. where names n in errors (a path such as
// "QueryRequest/search"), which never repeat values.
func Convert(n *Node, ns, where string, children map[string]Shape) (map[string]any, error) {
	if len(n.Attrs) > 0 {
		return nil, fmt.Errorf("%s: attributes are not allowed", where)
	}
	if !Blank(n.Text) {
		return nil, fmt.Errorf("%s: text is not allowed here, only elements", where)
	}
	out := map[string]any{}
	seen := map[string]bool{}
	for _, c := range n.Children {
		s, ok := children[c.Name.Local]
		if c.Name.Space != ns || !ok {
			return nil, fmt.Errorf("%s: unknown element %s", where, ElementName(c))
		}
		if seen[c.Name.Local] {
			return nil, fmt.Errorf("%s/%s: given twice", where, c.Name.Local)
		}
		seen[c.Name.Local] = true
		path := where + "/" + c.Name.Local
		switch {
		case s.Children != nil:
			v, err := Convert(c, ns, path, s.Children)
			if err != nil {
				return nil, err
			}
			out[s.Key] = v
		case s.Item != "":
			v, err := items(c, ns, path, s.Item)
			if err != nil {
				return nil, err
			}
			out[s.Key] = v
		default:
			v, err := TextOf(c, path)
			if err != nil {
				return nil, err
			}
			out[s.Key] = v
		}
	}
	return out, nil
}

// items turns a list element into its items' text.
func items(n *Node, ns, where, item string) ([]string, error) {
	if len(n.Attrs) > 0 {
		return nil, fmt.Errorf("%s: attributes are not allowed", where)
	}
	if !Blank(n.Text) {
		return nil, fmt.Errorf("%s: text is not allowed here, only %s elements", where, item)
	}
	out := []string{}
	for _, c := range n.Children {
		if c.Name.Space != ns || c.Name.Local != item {
			return nil, fmt.Errorf("%s: unknown element %s", where, ElementName(c))
		}
		v, err := TextOf(c, where+"/"+item)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
