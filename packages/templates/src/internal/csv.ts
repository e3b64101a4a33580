/** @internal RFC 4180 CSV: quoted fields, doubled quotes, line breaks inside quotes, CRLF or LF. */

/** Parses CSV text into rows of fields. */
export const parseRows = (text: string, delimiter = ","): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let field = ""
  let quoted = false
  let i = 0
  const n = text.length
  while (i < n) {
    const ch = text[i]!
    if (quoted) {
      if (ch === "\"") {
        if (text[i + 1] === "\"") {
          field += "\""
          i += 2
          continue
        }
        quoted = false
        i++
        continue
      }
      field += ch
      i++
      continue
    }
    if (ch === "\"" && field === "") {
      quoted = true
      i++
    } else if (ch === delimiter) {
      row.push(field)
      field = ""
      i++
    } else if (ch === "\n" || ch === "\r") {
      row.push(field)
      rows.push(row)
      row = []
      field = ""
      i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1
    } else {
      field += ch
      i++
    }
  }
  if (field !== "" || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ""))
}

/** Parses CSV with a header line into records (values stay strings). */
export const parse = (text: string, delimiter = ","): Array<Record<string, string>> => {
  const [header, ...rows] = parseRows(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, delimiter)
  if (header === undefined) return []
  return rows.map((cells) => {
    const record: Record<string, string> = {}
    header.forEach((name, k) => {
      record[name] = cells[k] ?? ""
    })
    return record
  })
}

const quote = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  const s = typeof value === "object" ? JSON.stringify(value) : String(value)
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, "\"\"")}"` : s
}

/** Writes records as CSV with a header of every key (in first-seen order). */
export const stringify = (records: ReadonlyArray<Readonly<Record<string, unknown>>>): string => {
  const columns: Array<string> = []
  const seen = new Set<string>()
  for (const r of records) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k)
        columns.push(k)
      }
    }
  }
  const lines = [columns.map(quote).join(",")]
  for (const r of records) lines.push(columns.map((c) => quote(r[c])).join(","))
  return lines.join("\n") + "\n"
}
