package live

// pruneRemoved deletes from after (the dry-run apply of the new object)
// what the deployed object had and the new one no longer has. helm-
// controller upgrades through Helm's three-way merge, which removes such
// fields; an apply as a manager that did not own them (the objects were
// created and patched by an Update manager) would keep them. Maps are
// followed key by key, lists of objects item by item by their merge key
// (name, mountPath, containerPort, port, ...).
func pruneRemoved(after, old, new any) any {
	switch o := old.(type) {
	case map[string]any:
		a, ok := after.(map[string]any)
		n, _ := new.(map[string]any)
		if !ok {
			return after
		}
		for k, ov := range o {
			nv, inNew := n[k]
			if !inNew {
				delete(a, k)
				continue
			}
			if av, inAfter := a[k]; inAfter {
				a[k] = pruneRemoved(av, ov, nv)
			}
		}
		return a
	case []any:
		a, ok := after.([]any)
		n, _ := new.([]any)
		if !ok {
			return after
		}
		key := listKey(o, n)
		if key == "" {
			return after
		}
		newItems := map[string]any{}
		for _, it := range n {
			if m, ok := it.(map[string]any); ok {
				newItems[itemKey(m, key)] = m
			}
		}
		oldItems := map[string]any{}
		for _, it := range o {
			if m, ok := it.(map[string]any); ok {
				oldItems[itemKey(m, key)] = m
			}
		}
		out := a[:0:0]
		for _, it := range a {
			m, ok := it.(map[string]any)
			if !ok {
				out = append(out, it)
				continue
			}
			k := itemKey(m, key)
			ov, wasOld := oldItems[k]
			nv, isNew := newItems[k]
			switch {
			case wasOld && !isNew:
				continue // dropped by the new render
			case wasOld && isNew:
				out = append(out, pruneRemoved(m, ov, nv))
			default:
				out = append(out, m)
			}
		}
		return out
	}
	return after
}

// mergeKeys are the fields list items of Kubernetes objects are merged by.
var mergeKeys = []string{"name", "mountPath", "devicePath", "containerPort", "port", "ip", "type", "key", "topologyKey"}

// listKey is the merge key every object item of both lists has, "" when
// none does (such lists are left as the apply made them).
func listKey(lists ...[]any) string {
	for _, k := range mergeKeys {
		all, seen := true, false
		for _, l := range lists {
			for _, it := range l {
				m, ok := it.(map[string]any)
				if !ok {
					return ""
				}
				if _, has := m[k]; !has {
					all = false
				}
				seen = true
			}
		}
		if all && seen {
			return k
		}
	}
	return ""
}

func itemKey(m map[string]any, key string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return jsonString(m[key])
}
