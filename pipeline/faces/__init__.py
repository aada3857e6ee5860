"""The page's way with faces, in Python, so that pipeline.detect sees what the page sees.

- ``finder``: MediaPipe's BlazeFace and how the page searches a picture with it (a camera frame,
  a photo), from the one definition both read, ``component/static/face-finder.json``;
- ``graph``: the detector's TF.js graph run by TensorFlow;
- ``boxes``: how much two boxes overlap;
- ``crop``: a detector's box cut into a face like the training faces;
- ``classifier``: the detector, the crop and an expression model together, as the page's worker;
- ``personal``: a person's profile (a correction of the model's scores), as component/static/js/personal.js fits it.
"""
