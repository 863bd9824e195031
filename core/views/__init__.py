"""Pure render functions: data in, Screen out. Tests compare whole screens with ==."""
