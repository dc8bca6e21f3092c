"""The lessons as numbers: why 5,274 CNN parameters match 39,760 MLP ones.

A conv layer is a matrix multiply whose matrix is mostly structural zeros and reuses
a handful of weights (`matrix`: sparse connectivity, weight sharing); stacking strided
convs grows what one unit sees (`fields`: receptive fields); a trained model's
activations, first layer (`models`) and mistakes (`mistakes`) show what it learnt; a
CNN is an MLP with tied, mostly-zero weights (`transplant`), and its prior is about
nearby pixels (`shift`). The views and the CLI only format what these return.

`fields` and the pattern half of `matrix` are pure Python over a `Spec`; torch is
imported only where a model is read, so `cnn-tui rf` and `cnn-tui matrix` start fast.
"""
