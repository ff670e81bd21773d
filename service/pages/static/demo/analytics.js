// The demo's "analytics" tag. It only runs once the visitor grants "analytics" (the page includes
// it as type="text/plain" data-consent="analytics"), and shows on the page that it ran.
(function () {
  window.demoAnalyticsRuns = (window.demoAnalyticsRuns || 0) + 1;
  document.cookie = '_dx_stats=' + Date.now() + '; Path=/; Max-Age=34128000; SameSite=Lax';
  var mark = function () {
    var badge = document.getElementById('analytics-status');
    if (!badge) return;
    badge.textContent = 'Analytics: running';
    badge.className = 'badge badge-on';
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', mark);
  else mark();
})();
