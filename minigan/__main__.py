"""`python -m minigan` lists the jobs."""
print("""minigan jobs (each has --help):
  python -m minigan.data       templates to write on, scan extraction, dataset info and previews
  python -m minigan.train      train a CondGAN, StyleGAN or StyleGAN2
  python -m minigan.generate   sample grids and style-mixing grids from a checkpoint
  python -m minigan.invert     project real glyphs into W / W+, or fit one writer's style
  python -m minigan.write      write text in a person's handwriting: PNG, SVG or PDF pages
  python -m minigan.font       a TrueType font of a person's handwriting
  python -m minigan.evaluate   FID, KID, conditional accuracy, writer fidelity""")
