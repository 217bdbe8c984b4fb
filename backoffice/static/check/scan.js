/* The QR scanner of /check: the phone's camera, frames read by jsQR (vendor/jsqr,
 * Apache-2.0) on this phone; the text found is handed to check.js. */
(function () {
  "use strict";
  var button = document.getElementById("scan-start");
  var video = document.getElementById("scan-video");
  var canvas = document.getElementById("scan-canvas");
  if (!button || !window.jsQR) { return; }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  button.hidden = false;
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.style.display = "none";
    button.disabled = false;
  }

  function frame() {
    if (!stream) { return; }
    if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      var context = canvas.getContext("2d", {willReadFrequently: true});
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var pixels = context.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(pixels.data, pixels.width, pixels.height,
                             {inversionAttempts: "dontInvert"});
      if (code && code.data) {
        stop();
        document.getElementById("statement").value = code.data;
        window.sadasyaCheck(code.data);
        return;
      }
    }
    requestAnimationFrame(frame);
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false})
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        video.style.display = "block";
        return video.play();
      }).then(function () { requestAnimationFrame(frame); })
      .catch(function () {
        stop();
        var result = document.getElementById("result");
        result.textContent = document.getElementById("t-no-camera").textContent;
      });
  });
})();
