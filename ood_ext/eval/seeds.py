"""Every random draw of a benchmark run derives from its one seed plus a fixed offset, named here
(model kinds add their own `seed_offset` to tell two models of one architecture apart)."""

OOD_SOURCE = 1  # the ID test images an OOD set is built from (corruptions, rotations, mixes)
FIT_SUBSET = 2  # the ID training images a detector is fitted on
TRAIN_SUBSET = 3  # the ID training images a model kind with a train_samples cap trains on
ID_SCORED = 4  # the ID test images a method with an images-per-set cap scores
OOD_SCORED = 5  # the images of each OOD set such a method scores
KNOWN_SCORED = 6  # the known images a classifying detector scores for its open-set threshold
