"""`python -m callreview` runs the same command line as the `callreview` script."""
from callreview.cli.app import main

if __name__ == "__main__":
    main()
