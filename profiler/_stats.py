"""Aggregate statistics of profiler events: per category and name, count and times (ms), and
per name the bytes of the outputs; as MXNet's ``dumps(format='json')`` dict and a text table."""

_KEYS = {"total": "Total", "avg": "Avg", "min": "Min", "max": "Max", "count": "Count"}


def aggregate(events, sort_by="total", ascending=False):
    """``{"Time": {category: {name: stats}}, "Memory": {...}, "Unit": {...}}``, each category's
    entries sorted by ``sort_by`` (MXNet's keys: total, avg, min, max, count)."""
    if sort_by not in _KEYS:
        raise ValueError(f"profiler.dumps: sort_by must be one of {sorted(_KEYS)}, got "
                         f"{sort_by!r}")
    times, memory = {}, {}
    for e in events:
        if e.get("ph") != "X":
            continue
        ms = e["dur"] / 1e3
        _add(times.setdefault(e["cat"], {}), e["name"], ms)
        if "bytes" in e["args"]:
            _add(memory.setdefault("Device Storage", {}), e["name"], e["args"]["bytes"] / 1024)
    key = _KEYS[sort_by]
    return {"Time": _sorted(times, key, ascending),
            "Memory": _sorted(memory, "Total" if key == "Total" else key, ascending),
            "Unit": {"Time": "ms", "Memory": "kB"}}


def _add(group, name, value):
    s = group.get(name)
    if s is None:
        group[name] = {"Count": 1, "Total": value, "Min": value, "Max": value, "Avg": value}
        return
    s["Count"] += 1
    s["Total"] += value
    s["Min"] = min(s["Min"], value)
    s["Max"] = max(s["Max"], value)
    s["Avg"] = s["Total"] / s["Count"]


def _sorted(groups, key, ascending):
    return {cat: dict(sorted(items.items(), key=lambda kv: kv[1][key], reverse=not ascending))
            for cat, items in groups.items()}


def table(stats):
    """The aggregate as a printable table, one section per category."""
    lines = ["Profile Statistics:", "\tNote the difference in units for different entries."]
    head = "{:<40} {:>12} {:>14} {:>14} {:>14} {:>14}"
    for section, unit in (("Time", "ms"), ("Memory", "kB")):
        for cat, items in stats[section].items():
            lines += [cat if section == "Time" else f"{cat} ({unit}, outputs)",
                      "=" * len(cat), head.format("Name", "Total Count", f"Total ({unit})",
                                                  f"Min ({unit})", f"Max ({unit})",
                                                  f"Avg ({unit})"),
                      head.format("----", "-----------", "---------", "-------", "-------",
                                  "-------")]
            for name, s in items.items():
                lines.append(head.format(name[:40], s["Count"], f"{s['Total']:.4f}",
                                         f"{s['Min']:.4f}", f"{s['Max']:.4f}",
                                         f"{s['Avg']:.4f}"))
            lines.append("")
    return "\n".join(lines)
