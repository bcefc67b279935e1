/* Loaded between require.js and embed-amd.js on pages that hold widgets.
 *
 * 1. The widget manager finds its fonts relative to the AMD module it is loaded as
 *    ("@jupyter-widgets/html-manager/dist/..."), which without a path resolves
 *    next to the page: point that module path at this folder.
 * 2. The manager typesets widget labels with MathJax 2's MathJax.Hub.Queue; the
 *    book serves MathJax 3. Give MathJax 3 a Hub whose Queue typesets the element.
 */
(function () {
  var src = document.currentScript && document.currentScript.src;
  if (src && window.require && window.require.config) {
    var folder = src.slice(0, src.lastIndexOf("/"));
    window.require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder } });
  }
  var hub = {
    Queue: function (job) {
      var mj = window.MathJax, el = job && job[2];
      if (mj && mj.startup && mj.startup.promise && mj.typesetPromise && el) {
        mj.startup.promise.then(function () { return mj.typesetPromise([el]); })
          .catch(function () {});
      }
    }
  };
  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      Object.defineProperty(mj, "Hub", { value: hub, enumerable: false, configurable: true });
    }
    return mj;
  }
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get: function () { return current; },
    set: function (value) { current = addHub(value); }
  });
})();
