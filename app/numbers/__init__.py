"""Read a whole number: split a drawing into its digits, each prepared exactly as /predict does.

People write a number as a row of digits, but not one stroke per digit and not in order: a 4 or a
7 in two strokes, a 7's crossbar added last, a 5's flag added after the next digit. So pieces are
grouped by where they are, never by when they were drawn. The package, in reading order:

- segmenting: how pieces become digits, for strokes and images alike, and how a candidate
  digit is scored (the model's log confidence, less costs for being too wide or gappy);
- strokes: a number drawn as strokes (the page's number mode);
- images: a number in an image or in pixels: blobs of ink grouped, touching digits parted by
  the digit splitter (splitter, the network's runtime side) pixel by pixel (ink_pieces);
- cutting: touching digits parted without a splitter, along cuts or the ink's skeleton;
- answer: the judge the splitting asks, and every digit read in one batch.

Each digit becomes a 28x28 through app.preprocessing (strokes_to_mnist, ink_to_mnist), the one
home of MNIST preparation, and every digit goes through the model in one batch.
"""
