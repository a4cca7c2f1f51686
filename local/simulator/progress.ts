/** One progress line, redrawn in place on a terminal and printed every ~10% elsewhere (CI logs). */
export function progressBar(label: string, total: number, stream = process.stderr) {
  let lastDecile = -1;
  return (done: number, extra = "") => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    const line = `${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${pct}% ${extra}`;
    if (stream.isTTY) {
      stream.write(`\r${line}`);
      if (done >= total) stream.write("\n");
      return;
    }
    const decile = Math.floor(pct / 10);
    if (decile === lastDecile && done < total) return;
    lastDecile = decile;
    stream.write(`${line}\n`);
  };
}
