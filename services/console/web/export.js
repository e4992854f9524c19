// "Export CSV": every table on screen (its caption, header and rows, in order), RFC 4180 CSV.
// "Export JSON": the API responses the page rendered (app.js).

function cell(text) {
  const value = text.replace(/\s+/g, ' ').trim();
  return /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function tablesToCsv(root) {
  const blocks = [];
  for (const table of root.querySelectorAll('table')) {
    const lines = [];
    const caption = table.querySelector('caption');
    if (caption) lines.push(cell(`# ${caption.textContent}`));
    for (const row of table.querySelectorAll('tr')) {
      lines.push([...row.querySelectorAll('th,td')].map((c) => cell(c.textContent)).join(','));
    }
    blocks.push(lines.join('\r\n'));
  }
  return `${blocks.join('\r\n\r\n')}\r\n`;
}

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
