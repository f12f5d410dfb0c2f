import sys

from trialnode.cli import main

sys.exit(main())
