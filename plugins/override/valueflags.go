package override

import "strings"

// valueFlag is a repeatable string flag (like pflag's stringArray) that
// also records its name in o.order each time it is given, so that new keys
// can follow the command line across flag kinds.
func (o *Options) valueFlag(name string, dst *[]string) *orderedArray {
	return &orderedArray{name: name, dst: dst, order: &o.order}
}

type orderedArray struct {
	name  string
	dst   *[]string
	order *[]string
}

func (a *orderedArray) Set(v string) error {
	*a.dst = append(*a.dst, v)
	*a.order = append(*a.order, a.name)
	return nil
}
func (a *orderedArray) String() string { return "[" + strings.Join(*a.dst, ",") + "]" }
func (a *orderedArray) Type() string   { return "stringArray" }
