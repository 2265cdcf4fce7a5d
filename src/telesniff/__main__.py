from telesniff.cli import main

main()
