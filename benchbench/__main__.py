from benchbench.cli.app import main

main()
