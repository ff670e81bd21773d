// Follows a running verification: updates the progress bar, then reloads to show the result.
export function start(container) {
  if (!container.dataset.running) return;
  const progress = container.querySelector("progress");
  const status = container.querySelector("[role=status]");
  const poll = async () => {
    const response = await fetch(container.dataset.statusUrl, { credentials: "same-origin" });
    if (!response.ok) return;
    const run = await response.json();
    if (run.finished) {
      window.location.reload();
      return;
    }
    if (progress) {
      progress.max = Math.max(run.total, 1);
      progress.value = run.phase === "ledger" ? Math.min(run.done, run.total) : run.total;
    }
    if (status) status.textContent = `Running: ${run.phase}, ${run.done} entries checked.`;
    setTimeout(poll, 500);
  };
  setTimeout(poll, 300);
}
