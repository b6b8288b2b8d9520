"""What the worked solutions (notebooks/solutions/) compute: short experiments on finished runs.

The solutions answer the "Try it yourself" exercises in seconds on the bundled sample: they
read the run folders the course notebooks wrote, take a few optimizer steps from a stage's
starting point, or train one changed recipe into a folder of its own
(`<runs>/exercises/<name>/`), never into a course notebook's run folder.

One module per part of the course: `training` (01-05), `comparison` (06), `gradcam` (07),
`trust` (08), `deployment` (09). This package may import from the rest of skinkit; nothing
outside it imports from here.
"""
